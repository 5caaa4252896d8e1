/**
 * Every option of both programs, one row each: the key is the flag (`maxBuffer` is
 * `--max-buffer`), then its short flag, environment variable, default (as typed), parser and
 * help sentence (a key of the catalogs' `optionHelp`). `--help` is written from these rows, and
 * tests/options.test.ts checks the README's option tables against them.
 */
import * as v from "./values.ts";
import { type Table, UsageError, type Values } from "./command-line.ts";
import type { Messages } from "./messages/index.ts";

const file = (text: string) => text;

const lang = { arg: "LANG", help: "lang", parse: v.lang } as const;
const trace = { help: "trace" } as const;

export const serverOptions = {
  host: { arg: "HOST", env: "ECHO_HOST", default: "127.0.0.1", parse: v.host, help: "serverHost" },
  port: { arg: "PORT", env: "ECHO_PORT", default: "5000", parse: v.port, help: "serverPort" },
  mode: { arg: "MODE", env: "ECHO_MODE", default: "once", parse: v.mode, help: "mode" },
  maxConnections: {
    arg: "N",
    env: "ECHO_MAX_CONNECTIONS",
    default: "10000",
    parse: v.count,
    help: "maxConnections",
  },
  idleTimeout: {
    arg: "SECS",
    env: "ECHO_IDLE_TIMEOUT",
    default: "300",
    parse: v.secondsOrNever,
    help: "idleTimeout",
  },
  maxBuffer: {
    arg: "BYTES",
    env: "ECHO_MAX_BUFFER",
    default: "256k",
    parse: (text: string) => v.bytes(text),
    help: "maxBuffer",
  },
  workers: {
    arg: "N",
    env: "ECHO_WORKERS",
    default: "1",
    parse: (text: string) => v.workers(text),
    help: "workers",
  },
  tlsCert: { arg: "FILE", env: "ECHO_TLS_CERT", parse: file, help: "tlsCert" },
  tlsKey: { arg: "FILE", env: "ECHO_TLS_KEY", parse: file, help: "tlsKey" },
  quiet: { short: "q", env: "ECHO_QUIET", help: "quiet" },
  trace,
  lang,
} as const satisfies Table;

export const clientOptions = {
  host: { arg: "HOST", env: "ECHO_HOST", default: "127.0.0.1", parse: v.host, help: "clientHost" },
  port: { arg: "PORT", env: "ECHO_PORT", default: "5000", parse: v.clientPort, help: "clientPort" },
  timeout: {
    arg: "SECS",
    env: "ECHO_TIMEOUT",
    default: "0",
    parse: v.secondsOrNever,
    help: "timeout",
  },
  tls: { help: "tls" },
  tlsCa: { arg: "FILE", parse: file, help: "tlsCa" },
  insecure: { help: "insecure" },
  trace,
  lang,
} as const satisfies Table;

export type ServerValues = Values<typeof serverOptions>;
export type ClientValues = Values<typeof clientOptions>;

/** The server's settings, once the rows that depend on each other agree. */
export function serverSettings(values: ServerValues, t: Messages) {
  const { tlsCert, tlsKey, ...rest } = values;
  if (rest.workers > 1 && rest.mode !== "concurrent")
    throw new UsageError(t.workersNeedConcurrent(rest.mode));
  if (!tlsCert !== !tlsKey) throw new UsageError(t.tlsPairNeeded);
  return { ...rest, tlsFiles: tlsCert && tlsKey ? { cert: tlsCert, key: tlsKey } : undefined };
}
export type ServerSettings = ReturnType<typeof serverSettings>;

/** The client's settings: --tls-ca and --insecure only make sense with TLS, so they imply it. */
export function clientSettings(values: ClientValues) {
  const { tls, tlsCa, insecure, ...rest } = values;
  const secure = tls || tlsCa !== undefined || insecure;
  return { ...rest, tls: secure ? { ca: tlsCa, insecure } : undefined };
}
export type ClientSettings = ReturnType<typeof clientSettings>;
