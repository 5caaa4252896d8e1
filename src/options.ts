/**
 * Checks for the values of command-line options and their environment variables. The entry
 * points call `util.parseArgs` and exit; these only say whether a value is good, so that both
 * programs word their usage errors the same way (and tests can check them without a process).
 */
import type { Messages } from "./messages/index.ts";

export const MODES = ["once", "sequential", "concurrent"] as const;
export type Mode = (typeof MODES)[number];

/** A bad command line or environment variable: exit status 2, one line on stderr. */
export class UsageError extends Error {}

/** The flag's value if given, else the environment variable's, else the default; with its source. */
export function pick(
  flag: string | undefined,
  flagName: string,
  env: string | undefined,
  envName: string,
  fallback: string,
): { value: string; source: string } {
  if (flag !== undefined) return { value: flag, source: flagName };
  if (env !== undefined && env !== "") return { value: env, source: envName };
  return { value: fallback, source: flagName };
}

export function parsePort(t: Messages, value: string, source: string, allowZero: boolean): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (port >= (allowZero ? 0 : 1) && port <= 65535) return port;
  throw new UsageError(allowZero ? t.badPort(source, value) : t.badClientPort(source, value));
}

export function parseMode(t: Messages, value: string, source: string): Mode {
  const mode = value.trim().toLowerCase();
  if ((MODES as readonly string[]).includes(mode)) return mode as Mode;
  throw new UsageError(t.badMode(source, value));
}

export function parseSeconds(t: Messages, value: string, source: string): number {
  const secs = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (secs > 0 && secs <= 86_400 * 365) return secs;
  throw new UsageError(t.badSeconds(source, value));
}

/** `util.parseArgs` throws errors with English text; say the same in the user's language. */
export function describeParseError(t: Messages, error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-[^']*)'/.exec(message ?? "")?.[1] ?? /(--?[\w-]+)/.exec(message ?? "")?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return t.unknownOption(option ?? "?");
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return t.missingValue(option ?? "?");
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return t.unexpectedArgument(/'([^']*)'/.exec(message ?? "")?.[1] ?? "?");
    default:
      return String(message ?? error);
  }
}

/** A whole number of at least 1 (a count of connections, say). */
export function parseCount(t: Messages, value: string, source: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (n >= 1 && Number.isSafeInteger(n)) return n;
  throw new UsageError(t.badCount(source, value));
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
};

/** A size in bytes: 65536, 64k, 1m (k and m are 1024 and 1024²). */
export function parseBytes(t: Messages, value: string, source: string): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  const n = match && unit ? Number(match[1]) * unit : NaN;
  if (n >= 1 && n <= 1 << 30) return n;
  throw new UsageError(t.badBytes(source, value));
}

/** --tls-cert and --tls-key go together. */
export function tlsPair(
  t: Messages,
  cert: string | undefined,
  key: string | undefined,
): { cert: string; key: string } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new UsageError(t.tlsPairNeeded);
  return { cert, key };
}

/** More server processes than this is a typo, not a plan: each one is a whole Bun runtime. */
export const MAX_WORKERS = 64;

/** --workers: a count, or `auto` for one per core. */
export function parseWorkers(t: Messages, value: string, source: string, cores: number): number {
  if (value.trim().toLowerCase() === "auto") return Math.max(1, cores);
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (n >= 1 && n <= MAX_WORKERS) return n;
  throw new UsageError(t.badWorkers(source, value, MAX_WORKERS));
}
