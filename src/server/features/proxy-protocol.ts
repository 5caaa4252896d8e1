/**
 * The PROXY protocol (HAProxy's spec, versions 1 and 2): a load balancer that forwards TCP
 * starts each connection with a header naming the client it came from. With
 * `--proxy-protocol` every connection must start with one; it is read here and never echoed.
 *
 *   v1: "PROXY TCP4 203.0.113.7 192.0.2.1 40312 5000\r\n"   (text, at most 107 bytes)
 *   v2: "\r\n\r\n\0\r\nQUIT\n", version/command, family, length, addresses, TLVs   (binary)
 *
 * Pure: bytes in, a result out. The header may arrive in pieces of any size, one byte each even.
 */
import { concat } from "../../common/bytes.ts";
import { formatIPv6, ipv4Bytes, ipv6Bytes } from "../../common/addresses.ts";

export interface Endpoint {
  address: string;
  port: number;
}

interface ProxyHeader {
  version: 1 | 2;
  /** LOCAL: the balancer's own connection (a health check); PROXY: a client's, relayed. */
  command: "PROXY" | "LOCAL";
  /** TCP4, TCP6, or UNKNOWN (v1 UNKNOWN, v2 UNSPEC or a family we do not read, e.g. UNIX). */
  family: "TCP4" | "TCP6" | "UNKNOWN";
  source?: Endpoint;
  destination?: Endpoint;
}

type ProxyProblem =
  | "signature" // neither a v1 nor a v2 header
  | "v1TooLong" // no CRLF within 107 bytes
  | "v1Malformed"
  | "v2Version"
  | "v2Command"
  | "v2TooLong" // a length beyond MAX_V2_LENGTH
  | "v2Family" // none the specification names: receivers should drop the connection
  | "v2Malformed";

/** v2 address family and protocol bytes: UNSPEC, then TCP and UDP over IPv4, IPv6 and UNIX. */
const V2_FAMILIES = new Set([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32]);

type ParseResult =
  | { state: "more" }
  | { state: "done"; header: ProxyHeader; rest: Uint8Array }
  | { state: "invalid"; problem: ProxyProblem };

const V1_MAX = 107; // the spec's worst case, CRLF included
const V2_SIGNATURE = new Uint8Array([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** Addresses plus TLVs: HAProxy, nginx and cloud balancers send a few hundred bytes at most. */
export const MAX_V2_LENGTH = 4096;

/** Collects a connection's first bytes until its header is complete (or cannot be). */
export class ProxyHeaderReader {
  private buffered: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): ParseResult {
    const bytes = concat(this.buffered, chunk);
    const result = parse(bytes);
    this.buffered = result.state === "more" ? bytes : new Uint8Array(0);
    return result;
  }
}

/** Parses a header at the start of `bytes`. */
export function parse(bytes: Uint8Array): ParseResult {
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < 16 ? more : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return parseV1(bytes);
  return { state: "invalid", problem: "signature" };
}

const more: ParseResult = { state: "more" };

/** True when `bytes` matches the start of `signature` as far as either goes. */
function startsLike(bytes: Uint8Array, signature: Uint8Array): boolean {
  const n = Math.min(bytes.length, signature.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== signature[i]) return false;
  return true;
}

function parseV1(bytes: Uint8Array): ParseResult {
  const end = bytes.indexOf(0x0a);
  if (end < 0) return bytes.length >= V1_MAX ? invalid("v1TooLong") : more;
  if (end + 1 > V1_MAX || bytes[end - 1] !== 0x0d)
    return invalid(end + 1 > V1_MAX ? "v1TooLong" : "v1Malformed");
  const line = new TextDecoder().decode(bytes.subarray(0, end - 1));
  const rest = bytes.subarray(end + 1);
  const f = line.split(" ");
  if (f[1] === "UNKNOWN") return done({ version: 1, command: "PROXY", family: "UNKNOWN" }, rest);
  if (f.length !== 6 || (f[1] !== "TCP4" && f[1] !== "TCP6")) return invalid("v1Malformed");
  // Strictly, as HAProxy reads them (inet_pton, ports without leading zeros), and logged in one
  // canonical form: what is not an address never reaches a log line.
  const read = f[1] === "TCP4" ? ipv4Text : ipv6Text;
  const [, , srcText = "", dstText = "", sportText = "", dportText = ""] = f;
  const [src, dst] = [read(srcText), read(dstText)];
  const [sport, dport] = [port(sportText), port(dportText)];
  if (src === undefined || dst === undefined || sport === undefined || dport === undefined)
    return invalid("v1Malformed");
  return done(
    {
      version: 1,
      command: "PROXY",
      family: f[1],
      source: { address: src, port: sport },
      destination: { address: dst, port: dport },
    },
    rest,
  );
}

/** `bytes` holds 16 at least: the signature, version and command, family, length. */
function parseV2(bytes: Uint8Array): ParseResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versionCommand = view.getUint8(12);
  if (versionCommand >> 4 !== 2) return invalid("v2Version");
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid("v2Command");
  const length = view.getUint16(14);
  if (length > MAX_V2_LENGTH) return invalid("v2TooLong");
  if (bytes.length < 16 + length) return more;
  const body = bytes.subarray(16, 16 + length);
  const rest = bytes.subarray(16 + length);
  const family = view.getUint8(13);
  if (!V2_FAMILIES.has(family)) return invalid("v2Family");
  const header: ProxyHeader = {
    version: 2,
    command: command === 0 ? "LOCAL" : "PROXY",
    family: "UNKNOWN",
  };
  // LOCAL carries no addresses that matter; the rest of the body (TLVs) is skipped.
  if (command === 1 && family === 0x11) {
    if (length < 12) return invalid("v2Malformed");
    header.family = "TCP4";
    header.source = { address: ipv4(body.subarray(0, 4)), port: u16(body, 8) };
    header.destination = { address: ipv4(body.subarray(4, 8)), port: u16(body, 10) };
  } else if (command === 1 && family === 0x21) {
    if (length < 36) return invalid("v2Malformed");
    header.family = "TCP6";
    header.source = { address: formatIPv6(body.subarray(0, 16)), port: u16(body, 32) };
    header.destination = { address: formatIPv6(body.subarray(16, 32)), port: u16(body, 34) };
  }
  return done(header, rest);
}

const invalid = (problem: ProxyProblem): ParseResult => ({ state: "invalid", problem });
const done = (header: ProxyHeader, rest: Uint8Array): ParseResult => ({
  state: "done",
  header,
  rest,
});
const u16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint16(at);
const ipv4 = (b: Uint8Array) => Array.from(b).join(".");

/** 0-65535, written as HAProxy writes it: no sign, no leading zero. */
function port(text: string): number | undefined {
  const n = /^(0|[1-9]\d{0,4})$/.test(text) ? Number(text) : NaN;
  return n <= 65535 ? n : undefined;
}

const ipv4Text = (text: string) => (ipv4Bytes(text) ? text : undefined);

/** Valid IPv6 text (upper case, leading zeros in a group...), in its RFC 5952 form. */
function ipv6Text(text: string): string | undefined {
  const bytes = ipv6Bytes(text);
  return bytes && formatIPv6(bytes);
}
