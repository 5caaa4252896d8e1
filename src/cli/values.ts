/**
 * What a good option value looks like. Each parser returns the value or throws `BadValue` with
 * a code; the words are chosen later, in the user's language, by src/cli/command-line.ts. So these
 * serve the programs, the bench and the soak alike, and the tests can call them directly.
 */
import { type Cidr, parseCidr } from "../common/addresses.ts";

/** The codes a value can be refused with; each has a sentence in both catalogs (`badValue`). */
type Problem =
  | "port"
  | "clientPort"
  | "mode"
  | "seconds"
  | "secondsOrZero"
  | "secondsOrNoDelay"
  | "secondsOrNoLimit"
  | "pause"
  | "tooLong"
  | "tooShort"
  | "count"
  | "bytes"
  | "pieceBytes"
  | "rate"
  | "workers"
  | "lang"
  | "emptyHost"
  | "badIp"
  | "boolean"
  | "path"
  | "retries"
  | "logFormat"
  | "logLevel"
  | "cidr";

export class BadValue extends Error {
  constructor(
    readonly problem: Problem,
    readonly limit?: number,
  ) {
    super(problem);
  }
}

export const MODES = ["once", "sequential", "concurrent"] as const;
export type Mode = (typeof MODES)[number];

export const LANGS = ["en", "pt"] as const;
export type Lang = (typeof LANGS)[number];

/** More server processes than this is a typo, not a plan: each one is a whole Bun runtime. */
const MAX_WORKERS = 64;
/**
 * The longest wait an option may ask for: 24 days. A runtime timer holds at most 2^31-1 ms
 * (24.8 days); a longer one fires at once (measured in Bun 1.4.5, with a warning).
 */
export const MAX_SECONDS = 86_400 * 24;
const MAX_BYTES = 1 << 30;

const whole = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : NaN);

export function port(text: string): number {
  const n = whole(text);
  if (n >= 0 && n <= 65535) return n;
  throw new BadValue("port");
}

/** A port to connect to: 0 means "any" only to a listener. */
export function clientPort(text: string): number {
  const n = whole(text);
  if (n >= 1 && n <= 65535) return n;
  throw new BadValue("clientPort");
}

export function mode(text: string): Mode {
  const m = text.trim().toLowerCase();
  if ((MODES as readonly string[]).includes(m)) return m as Mode;
  throw new BadValue("mode");
}

export function seconds(text: string): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (n > MAX_SECONDS) throw new BadValue("tooLong", MAX_SECONDS);
  if (n > 0) return n;
  throw new BadValue("seconds");
}

/** Seconds, where 0 means "never". */
export function secondsOrNever(text: string): number {
  return secondsOrZero(text, "secondsOrZero");
}

/** A wait before something (--delay): 0 is no wait at all. */
export function pause(text: string): number {
  return secondsOrZero(text, "pause");
}

/** A delay before a step (--stop-delay): 0 is none, the step comes at once. */
export function delay(text: string): number {
  return secondsOrZero(text, "secondsOrNoDelay");
}

/** A limit on a wait (--drain-timeout): 0 is none, it waits as long as it takes. */
export function limit(text: string): number {
  return secondsOrZero(text, "secondsOrNoLimit");
}

/** Seconds or 0; refused with the words that say what this option's 0 means. */
function secondsOrZero(text: string, problem: Problem): number {
  if (/^\s*0+(\.0*)?\s*$/.test(text)) return 0;
  try {
    return seconds(text);
  } catch (error) {
    if ((error as BadValue).problem === "tooLong") throw error;
    throw new BadValue(problem);
  }
}

/**
 * An idle timeout: 0 for never, else at least a tenth of a second, the finest the server's
 * checks keep (four a timeout, at most one each 25 ms).
 */
const MIN_IDLE_SECONDS = 0.1;
export function idleSeconds(text: string): number {
  const n = secondsOrNever(text);
  if (n > 0 && n < MIN_IDLE_SECONDS) throw new BadValue("tooShort", MIN_IDLE_SECONDS);
  return n;
}

/** A pause in whole milliseconds, from 1 up to the longest wait. */
export function milliseconds(text: string): number {
  const n = count(text);
  if (n > MAX_SECONDS * 1000) throw new BadValue("tooLong", MAX_SECONDS);
  return n;
}

/** A whole number of at least 1 (a count of connections, say). */
export function count(text: string): number {
  const n = whole(text);
  if (n >= 1 && Number.isSafeInteger(n)) return n;
  throw new BadValue("count");
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

/** A size in bytes: 65536, 64k, 1m, 1g (k, m and g are 1024, 1024² and 1024³). */
export function bytes(text: string, max = MAX_BYTES): number {
  const [, digits, suffix = ""] = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text) ?? [];
  const unit = digits === undefined ? undefined : UNITS[suffix.toLowerCase()];
  const n = unit ? Number(digits) * unit : NaN;
  if (n >= 1 && n <= max) return n;
  throw new BadValue("bytes", max);
}

/**
 * A few bytes, for the shaped echo's pieces and limits (--slice, --close-after): the same sizes
 * as `bytes`, refused with examples a person trying a client would use.
 */
export function pieceBytes(text: string): number {
  try {
    return bytes(text);
  } catch {
    throw new BadValue("pieceBytes", MAX_BYTES);
  }
}

/** --rate: bytes a second; 0 is no limit (undefined). */
export function rate(text: string): number | undefined {
  if (/^\s*0+\s*$/.test(text)) return undefined;
  try {
    return bytes(text);
  } catch {
    throw new BadValue("rate", MAX_BYTES);
  }
}

/** --workers: a count, or `auto` for one per core. */
export function workers(text: string, cores = navigator.hardwareConcurrency): number {
  if (text.trim().toLowerCase() === "auto") return Math.max(1, cores);
  const n = whole(text);
  if (n >= 1 && n <= MAX_WORKERS) return n;
  throw new BadValue("workers", MAX_WORKERS);
}

export function lang(text: string): Lang {
  const l = text.trim().toLowerCase();
  if ((LANGS as readonly string[]).includes(l)) return l as Lang;
  throw new BadValue("lang");
}

/**
 * A host name or address. Empty is refused here (Bun would take it for "any" or throw); so is
 * something shaped like an IPv4 address that is not one (999.1.1.1), which no resolver can fix.
 */
export function host(text: string): string {
  const h = text.trim();
  if (h === "") throw new BadValue("emptyHost");
  if (/^[\d.]+$/.test(h) && !isIPv4(h)) throw new BadValue("badIp");
  return h;
}

function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** --proxy-from: networks, comma-separated (`10.0.0.0/8,::1`); an address alone is one host. */
export function cidrList(text: string): Cidr[] {
  const list = text.split(",").map((item) => parseCidr(item));
  if (list.length > 0 && list.every((c) => c !== undefined)) return list as Cidr[];
  throw new BadValue("cidr");
}

/** An environment variable that switches something on: 1/true/yes or 0/false/no. */
export function boolean(text: string): boolean {
  const b = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(b)) return true;
  if (["0", "false", "no", "off", ""].includes(b)) return false;
  throw new BadValue("boolean");
}

/** A file system path (a Unix socket): not empty, and short enough for sockaddr_un (108 bytes). */
export function path(text: string): string {
  if (text === "" || Buffer.byteLength(text) > 107) throw new BadValue("path", 107);
  return text;
}

/** How many times the UDP client sends a message again before it gives up: 0 to 20. */
export function retries(text: string): number {
  const n = whole(text);
  if (n >= 0 && n <= 20) return n;
  throw new BadValue("retries", 20);
}

const LOG_FORMATS = ["text", "json"] as const;
export function logFormat(text: string): (typeof LOG_FORMATS)[number] {
  const f = text.trim().toLowerCase();
  if ((LOG_FORMATS as readonly string[]).includes(f)) return f as (typeof LOG_FORMATS)[number];
  throw new BadValue("logFormat");
}

/**
 * How much the server logs, from most to least: every read (data), each connection's life
 * without a line per read (connections), warnings and errors (warn), errors only (error). The
 * listening lines are shown at every level: scripts wait for them.
 */
const LOG_LEVELS = ["data", "connections", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export function logLevel(text: string): LogLevel {
  const l = text.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LogLevel;
  throw new BadValue("logLevel");
}
