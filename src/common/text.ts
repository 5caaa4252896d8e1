/** How bytes and addresses are shown to people. */

/** `host:port`, with IPv6 hosts in brackets as in URLs (`[::1]:5000`). */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const PREVIEW_BYTES = 40;
// ignoreBOM: else a U+FEFF (a byte order mark) decodes to nothing, and vanishes from the preview.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A short, one-line, quoted view of received bytes: printable text as is, control bytes and
 * anything that is not valid UTF-8 escaped, so a log line can never be broken or spoofed by
 * what a peer sends.
 */
export function preview(bytes: Uint8Array, limit = PREVIEW_BYTES): string {
  const head = bytes.subarray(0, limit);
  // Escapes take up to 4 characters a byte: binary data (a probe's 512 KiB pieces) would fill
  // several terminal lines each. Text is shown to `limit`; escaped bytes stop a little past it.
  const maxChars = limit + 8;
  let out = "";
  let i = 0;
  while (i < head.length && out.length < maxChars) {
    const b = head[i]!;
    if (b >= 0x20 && b < 0x7f) {
      out += b === 0x22 || b === 0x5c ? "\\" + String.fromCharCode(b) : String.fromCharCode(b);
      i++;
    } else if (b < 0x80) {
      out += ESCAPES[b] ?? `\\x${b.toString(16).padStart(2, "0")}`;
      i++;
    } else {
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      // A character the preview's own limit cut in two ends it, as text ("ação" → "a…"): its
      // lead byte alone, escaped, would look like corrupted accents. Truly invalid bytes stay.
      if (len > 1 && i + len > head.length && decodeOne(bytes.subarray(i, i + len)) !== null) break;
      const char = len > 1 && i + len <= head.length ? decodeOne(head.subarray(i, i + len)) : null;
      if (char === null) {
        out += `\\x${b.toString(16).padStart(2, "0")}`;
        i++;
      } else {
        out += char;
        i += len;
      }
    }
  }
  return `"${out}"${i < bytes.length ? "…" : ""}`;
}

/**
 * A file path on one line: as is, unless it holds a control or format character (a newline
 * would split a log line): then escaped as a preview is, and quoted unless the message around
 * it already quotes it.
 */
export function printablePath(path: string, quote = true): string {
  if (!/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(path)) return path;
  const shown = preview(new TextEncoder().encode(path), Infinity);
  return quote ? shown : shown.slice(1, -1);
}

/** All of `bytes`, escaped as in a preview but without the quotes: safe to show on a terminal. */
export function escaped(bytes: Uint8Array): string {
  return preview(bytes, bytes.length).slice(1, -1);
}

const ESCAPES: Record<number, string> = { 0x00: "\\0", 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };

function decodeOne(bytes: Uint8Array): string | null {
  try {
    const char = decoder.decode(bytes);
    // Bidirectional overrides and other format characters could reorder a terminal line.
    return /[\p{Cc}\p{Cf}\u2028\u2029]/u.test(char) ? null : char;
  } catch {
    return null;
  }
}
