/**
 * `--hexdump`: every piece as it crossed the wire, the way xxd, `socat -x` and `ncat --hex-dump`
 * show bytes: offset in the stream, 16 bytes in hex, the same bytes as text. A student sees a
 * 100 KB line arrive in pieces of any size, and the client gather them into one echo.
 *
 * Each piece shows at most MAX_SHOWN bytes, then how many it did not show, so a 1 GB transfer
 * stays a few lines per piece instead of 60 million.
 */
import type { ByteSink } from "./outbox.ts";

export const MAX_SHOWN = 256;

/** Lines for one piece: a head line (who, which way, how many bytes), then the dump. */
export function hexdump(
  head: string,
  bytes: Uint8Array,
  offset: number,
  notShown: (n: number) => string,
): string[] {
  const lines = [head];
  const shown = bytes.subarray(0, MAX_SHOWN);
  for (let at = 0; at < shown.length; at += 16) {
    const row = shown.subarray(at, at + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const left = hex.slice(0, 8).join(" ").padEnd(23);
    const right = hex.slice(8).join(" ").padEnd(23);
    const text = Array.from(row, (b) =>
      b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".",
    ).join("");
    lines.push(`  ${(offset + at).toString(16).padStart(8, "0")}  ${left}  ${right}  |${text}|`);
  }
  if (bytes.length > shown.length) lines.push(`  ${notShown(bytes.length - shown.length)}`);
  return lines;
}

/** A socket whose every write is dumped: the bytes the kernel took, at their stream offset. */
export function dumpedSink(socket: ByteSink, dump: (bytes: Uint8Array) => void): ByteSink {
  return {
    write(data) {
      const taken = socket.write(data);
      if (taken > 0) dump(data.subarray(0, taken));
      return taken;
    },
  };
}
