/**
 * IP addresses as text, read strictly: the PROXY v1 header (src/server/features/proxy-protocol.ts) and
 * `--proxy-from` (src/cli/values.ts) accept only what inet_pton(3) accepts, as HAProxy does, so
 * that nothing else reaches a log line or a trust decision.
 *
 *   IPv4  a dotted quad of 0-255, no leading zeros (`001.002.003.004` is refused)
 *   IPv6  eight groups of 1-4 hex digits, one `::` at most, an IPv4 tail allowed
 *
 * Every address is kept as 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d): a peer of a
 * dual-stack listener shows up that way, and matches an IPv4 CIDR all the same.
 */

/** The 4 bytes of a dotted quad, or undefined. */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (const [i, p] of parts.entries()) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** The 16 bytes of an IPv6 address in text, or undefined. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  if (text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const [first = "", second] = halves;
  const head = wordsOf(first, second === undefined);
  const tail = second === undefined ? [] : wordsOf(second, true);
  if (head === undefined || tail === undefined) return undefined;
  const count = head.length + tail.length;
  if (second === undefined ? count !== 8 : count > 7) return undefined;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  const all8 = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  all8.forEach((w, i) => view.setUint16(i * 2, w));
  return out;
}

/** The words of one side of `::`; a dotted quad may be the last group of the address. */
function wordsOf(half: string, endsAddress: boolean): number[] | undefined {
  const groups = half === "" ? [] : half.split(":");
  const words: number[] = [];
  for (const [i, g] of groups.entries()) {
    if (endsAddress && i === groups.length - 1 && g.includes(".")) {
      const v4 = ipv4Bytes(g);
      if (v4 === undefined) return undefined;
      const view = new DataView(v4.buffer);
      words.push(view.getUint16(0), view.getUint16(2));
    } else if (/^[0-9a-f]{1,4}$/i.test(g)) words.push(parseInt(g, 16));
    else return undefined;
  }
  return words;
}

/** Either kind, as 16 bytes (IPv4 mapped). */
function ipBytes(text: string): Uint8Array | undefined {
  const v4 = ipv4Bytes(text);
  return v4 ? mapped(v4) : ipv6Bytes(text);
}

const mapped = (v4: Uint8Array) => {
  const out = new Uint8Array(16);
  out[10] = out[11] = 0xff;
  out.set(v4, 12);
  return out;
};

const isMapped = (b: Uint8Array) =>
  b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/** RFC 5952's form: lower case, the longest run of zero groups as `::`, ::ffff:a.b.c.d kept. */
export function formatIPv6(b: Uint8Array): string {
  if (isMapped(b)) return `::ffff:${Array.from(b.subarray(12)).join(".")}`;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const groups = Array.from({ length: 8 }, (_, i) => view.getUint16(i * 2).toString(16));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

/** A network: its first 16 bytes (IPv4 mapped) and how many leading bits must match. */
export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or one address (all its bits). */
export function parseCidr(text: string): Cidr | undefined {
  const [address, prefix, extra] = text.trim().split("/");
  if (extra !== undefined || address === undefined) return undefined;
  const v4 = ipv4Bytes(address);
  const bytes = v4 ? mapped(v4) : ipv6Bytes(address);
  if (bytes === undefined) return undefined;
  const max = v4 ? 32 : 128;
  if (prefix !== undefined && !/^(0|[1-9]\d{0,2})$/.test(prefix)) return undefined;
  const bits = prefix === undefined ? max : Number(prefix);
  if (bits > max) return undefined;
  return { bytes, bits: bits + (v4 ? 96 : 0) };
}

/** Whether an address (as a socket gives it: IPv4, IPv6 or IPv4-mapped) is in one of `list`. */
export function within(address: string | undefined, list: readonly Cidr[]): boolean {
  const b = address === undefined ? undefined : ipBytes(address);
  if (b === undefined) return false;
  return list.some(({ bytes, bits }) => {
    for (let bit = 0; bit < bits; bit += 8) {
      const mask = bits - bit >= 8 ? 0xff : (0xff << (8 - (bits - bit))) & 0xff;
      if ((b[bit >> 3]! & mask) !== (bytes[bit >> 3]! & mask)) return false;
    }
    return true;
  });
}
