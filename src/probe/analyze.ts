/**
 * What came back, compared with what was sent: exact, or in which way it differs. The kind of
 * difference is what points at the student's mistake (pieces of a fixed size missing: a fixed
 * buffer; pieces of any size missing: send() without a loop; letters changed: upper()).
 */
import type { Ending } from "./conn.ts";
import { isTlsRecord } from "../common/tls.ts";

export type Observation =
  | { kind: "exact" }
  /** Not one byte came back. */
  | { kind: "nothing"; ending: Ending }
  /** The same bytes with ASCII letters in upper case. */
  | { kind: "upper" }
  /** The beginning of what was sent, then nothing more (ending says how it stopped). */
  | { kind: "short"; got: number; ending: Ending }
  /** Everything sent, then more. */
  | { kind: "extra"; extra: number }
  /** Pieces of what was sent, in order, with bytes missing between them. */
  | {
      kind: "gaps";
      pieces: number;
      missing: number;
      /** The size nearly every piece has: a fixed buffer. */
      pieceSize?: number;
      /** Every piece ends with a newline: the first line of each read, the rest dropped. */
      lines: boolean;
      ending: Ending;
    }
  /** Different bytes from `at` on. */
  | { kind: "changed"; at: number }
  /** A TLS record (a TLS server's alert) in place of the echo: the probe should use --tls. */
  | { kind: "tls" };

/** The same bytes as a Buffer, not copied. */
const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);

export function observe(sent: Uint8Array, got: Uint8Array, ending: Ending): Observation {
  const [s, g] = [view(sent), view(got)];
  if (g.length === 0) return { kind: "nothing", ending };
  if (s.equals(g)) return { kind: "exact" };
  if (isTlsRecord(g) && !isTlsRecord(s)) return { kind: "tls" };
  if (g.length === s.length) {
    const upperCased = upper(s);
    if (upperCased.equals(g) && !s.equals(upperCased)) return { kind: "upper" };
  }
  const common = commonPrefix(s, g);
  if (common === g.length) return { kind: "short", got: g.length, ending };
  if (common === s.length) return { kind: "extra", extra: g.length - s.length };
  const pieces = piecesOf(s, g);
  if (pieces !== undefined && pieces.length > 1) {
    return {
      kind: "gaps",
      pieces: pieces.length,
      missing: s.length - g.length,
      pieceSize: commonSize(pieces.map((p) => p.length)),
      lines: pieces.slice(0, -1).every((p) => s[p.end - 1] === 0x0a),
      ending,
    };
  }
  return { kind: "changed", at: common };
}

/** ASCII letters in upper case; a plain loop, as a callback per byte is slow on 10 MB. */
function upper(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(b.length);
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    out[i] = c >= 0x61 && c <= 0x7a ? c - 32 : c;
  }
  return out;
}

/** Where `a` and `b` first differ (the shorter one's length when one begins the other). */
export function commonPrefix(x: Uint8Array, y: Uint8Array): number {
  const [a, b] = [view(x), view(y)];
  const n = Math.min(a.length, b.length);
  // Compare in blocks first: 10 MB byte by byte would be slow for nothing.
  let i = 0;
  const BLOCK = 4096;
  while (i + BLOCK <= n && a.subarray(i, i + BLOCK).equals(b.subarray(i, i + BLOCK))) i += BLOCK;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

const NEEDLE = 32;
const SHORT_NEEDLE = 6;
const MAX_PIECES = 100_000;

/**
 * `got` as pieces of `sent`, in order, with gaps between them: the length of each piece, or
 * undefined when `got` holds bytes that were never sent (or in another order).
 */
function piecesOf(sent: Buffer, got: Buffer): { length: number; end: number }[] | undefined {
  const lengths: { length: number; end: number }[] = [];
  let i = 0;
  let j = 0;
  while (j < got.length) {
    // A short piece (a short line, say) is looked for with a short needle.
    let k = sent.indexOf(got.subarray(j, j + NEEDLE), i);
    if (k < 0) k = sent.indexOf(got.subarray(j, j + SHORT_NEEDLE), i);
    if (k < 0) return undefined;
    const len = commonPrefix(sent.subarray(k), got.subarray(j));
    lengths.push({ length: len, end: k + len });
    i = k + len;
    j += len;
    if (lengths.length > MAX_PIECES) return undefined;
  }
  return lengths;
}

/**
 * The size most pieces share, when nearly all do (a fixed buffer cuts every read to it). A
 * piece may be a byte or two longer when the byte after a gap happens to match.
 */
function commonSize(pieces: number[]): number | undefined {
  const full = pieces.slice(0, -1);
  if (full.length < 3) return undefined;
  const counts = new Map<number, number>();
  for (const p of full) counts.set(p, (counts.get(p) ?? 0) + 1);
  // The first size counted most often.
  let size = 0;
  let count = 0;
  for (const [s, c] of counts) {
    if (c <= count) continue;
    size = s;
    count = c;
  }
  // Buffers people choose are round: 1024, 4096, 1000. A size like 65,483 is what send() took.
  const round = (size & (size - 1)) === 0 || size % 100 === 0;
  return round && count >= full.length * 0.8 ? size : undefined;
}
