/**
 * Every option of both programs, one row each: the key is the flag (`maxBuffer` is
 * `--max-buffer`), then its short flag, environment variable, default (as typed), parser and
 * help sentence (a key of the catalogs' `optionHelp`). `--help` is written from these rows, and
 * tests/lab/options.test.ts checks the README's option tables against them.
 */
import * as v from "./values.ts";
import { flagOf, knownPrograms, type Table, UsageError, type Values } from "./command-line.ts";
import type { Messages } from "../messages/index.ts";
import { shapingOf } from "../server/features/shaping.ts";

const file = (text: string) => text;

const lang = { arg: "LANG", help: "lang", parse: v.lang } as const;
const trace = { help: "trace" } as const;
const hexdump = { env: "ECHO_HEXDUMP", help: "hexdump" } as const;

export const serverOptions = {
  host: { arg: "HOST", env: "ECHO_HOST", default: "127.0.0.1", parse: v.host, help: "serverHost" },
  // PORT: the variable Heroku, Cloud Run and others give a service to listen on.
  port: {
    arg: "PORT",
    env: "ECHO_PORT",
    alsoEnv: "PORT",
    default: "5000",
    parse: v.port,
    help: "serverPort",
  },
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
    default: "0",
    parse: v.idleSeconds,
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
  udp: { env: "ECHO_UDP", help: "serverUdp" },
  unix: { arg: "PATH", env: "ECHO_UNIX", parse: v.path, help: "serverUnix" },
  proxyProtocol: { env: "ECHO_PROXY_PROTOCOL", help: "proxyProtocol" },
  proxyFrom: { arg: "CIDRS", env: "ECHO_PROXY_FROM", parse: v.cidrList, help: "proxyFrom" },
  httpPort: { arg: "PORT", env: "ECHO_HTTP_PORT", parse: v.port, help: "httpPort" },
  httpHost: {
    arg: "HOST",
    env: "ECHO_HTTP_HOST",
    default: "127.0.0.1",
    parse: v.host,
    help: "httpHost",
  },
  stopDelay: {
    arg: "SECS",
    env: "ECHO_STOP_DELAY",
    default: "0",
    parse: v.delay,
    help: "stopDelay",
  },
  drainIdle: {
    arg: "SECS",
    env: "ECHO_DRAIN_IDLE",
    default: "2",
    parse: v.idleSeconds,
    help: "drainIdle",
  },
  drainTimeout: {
    arg: "SECS",
    env: "ECHO_DRAIN_TIMEOUT",
    default: "0",
    parse: v.limit,
    help: "drainTimeout",
  },
  logFormat: {
    arg: "FORMAT",
    env: "ECHO_LOG_FORMAT",
    default: "text",
    parse: v.logFormat,
    help: "logFormat",
  },
  logLevel: {
    arg: "LEVEL",
    env: "ECHO_LOG_LEVEL",
    default: "data",
    parse: v.logLevel,
    help: "logLevel",
  },
  quiet: { short: "q", env: "ECHO_QUIET", help: "quiet" },
  trace,
  hexdump,
  lang,
  // The shaped echo (src/server/features/shaping.ts): last, under their own heading.
  slice: { arg: "BYTES", parse: v.pieceBytes, help: "slice", group: "shaping" },
  sliceRandom: { help: "sliceRandom", group: "shaping" },
  delay: { arg: "SECS", parse: v.pause, help: "delay", group: "shaping" },
  rate: { arg: "BYTES", parse: v.rate, help: "rate", group: "shaping" },
  closeAfter: {
    arg: "BYTES",
    parse: v.pieceBytes,
    help: "closeAfter",
    group: "shaping",
  },
  resetAfter: {
    arg: "BYTES",
    parse: v.pieceBytes,
    help: "resetAfter",
    group: "shaping",
  },
  seed: { arg: "N", parse: v.count, help: "seed", group: "shaping" },
} as const satisfies Table;

/** The shaping rows, named as the server's settings name them. */
const SHAPING_KEYS = [
  "slice",
  "sliceRandom",
  "delay",
  "rate",
  "closeAfter",
  "resetAfter",
  "seed",
] as const;

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
  udp: { env: "ECHO_UDP", help: "clientUdp" },
  retries: { arg: "N", env: "ECHO_RETRIES", default: "3", parse: v.retries, help: "retries" },
  unix: { arg: "PATH", env: "ECHO_UNIX", parse: v.path, help: "clientUnix" },
  trace,
  hexdump,
  lang,
} as const satisfies Table;

type ServerValues = Values<typeof serverOptions>;
type ClientValues = Values<typeof clientOptions>;

/** The server's settings, once the rows that depend on each other agree. */
export function serverSettings(values: ServerValues, t: Messages, given: Set<string>) {
  const { tlsCert, tlsKey, ...rest } = values;
  if (!tlsCert !== !tlsKey) throw new UsageError(t.tlsPairNeeded);
  // --quiet is --log-level warn, kept for its shortness: both at once would contradict.
  if (rest.quiet && given.has("logLevel"))
    throw new UsageError(t.notWith("--quiet", "--log-level"));
  if (rest.quiet) rest.logLevel = "warn";
  const tlsFiles = tlsCert && tlsKey ? { cert: tlsCert, key: tlsKey } : undefined;
  const shaping = shapingSettings(rest, t, given);
  // UDP's own conflicts first: with --udp, the real conflict of --workers is UDP, not the mode.
  if (rest.udp) {
    // Datagrams have no connection: no mode but "serve every sender", no TLS, no file.
    if (given.has("mode") && rest.mode !== "concurrent") throw new UsageError(t.udpMode(rest.mode));
    if (tlsFiles) throw new UsageError(t.notWith("--udp", "--tls-cert"));
    if (rest.unix !== undefined) throw new UsageError(t.notWith("--udp", "--unix"));
    if (rest.workers > 1) throw new UsageError(t.notWith("--udp", "--workers"));
    if (rest.hexdump) throw new UsageError(t.notWith("--udp", "--hexdump"));
    // A datagram goes back whole or not at all: no piece, no pace, no connection to close.
    for (const key of SHAPING_KEYS)
      if (given.has(key)) throw new UsageError(t.notWith("--udp", flagOf(key)));
    // No connection to keep accepting or to drain: a datagram is answered or not.
    for (const key of ["stopDelay", "drainIdle"] as const)
      if (given.has(key)) throw new UsageError(t.notWith("--udp", flagOf(key)));
    rest.mode = "concurrent";
  }
  if (rest.workers > 1 && rest.mode !== "concurrent")
    throw new UsageError(t.workersNeedConcurrent(rest.mode));
  if (rest.proxyProtocol && tlsFiles) {
    // Balancers send the header before the TLS handshake; Bun.listen with `tls` starts the
    // handshake on the first bytes, so the header would be taken for a broken ClientHello.
    throw new UsageError(t.notWith("--proxy-protocol", "--tls-cert"));
  }
  if (rest.proxyProtocol && rest.udp) throw new UsageError(t.notWith("--proxy-protocol", "--udp"));
  if (rest.proxyFrom !== undefined && !rest.proxyProtocol)
    throw new UsageError(t.onlyWith("--proxy-from", "--proxy-protocol"));
  if (given.has("httpHost") && rest.httpPort === undefined)
    throw new UsageError(t.onlyWith("--http-host", "--http-port"));
  // Two TCP listeners on one port: the second would fail at start. Port 0 gives two free ones, a
  // Unix socket has no port, and a UDP port is not a TCP one. Whatever the hosts: one port each.
  if (rest.httpPort === rest.port && rest.port !== 0 && rest.unix === undefined && !rest.udp)
    throw new UsageError(t.httpPortIsPort(rest.port));
  if (rest.unix !== undefined) {
    // A Unix socket is a file: no host or port, and one process owns it (TLS over it is fine).
    for (const key of ["host", "port"] as const)
      if (given.has(key)) throw new UsageError(t.notWith("--unix", `--${key}`));
    if (rest.workers > 1) throw new UsageError(t.notWith("--unix", "--workers"));
    if (rest.proxyFrom !== undefined) throw new UsageError(t.notWith("--unix", "--proxy-from"));
  }
  // Mode once, the lab's default, ends after one client: a service that forgot --mode would
  // serve one and exit 0, which Restart=on-failure does not restart. Said once, at start.
  const onceByDefault =
    rest.mode === "once" &&
    !given.has("mode") &&
    (rest.proxyProtocol || rest.httpPort !== undefined || rest.logFormat === "json");
  return { ...rest, tlsFiles, onceByDefault, shaping };
}
export type ServerSettings = ReturnType<typeof serverSettings>;

/** The shaped echo's rows, checked together; undefined when none is on. */
function shapingSettings(values: Parameters<typeof shapingOf>[0], t: Messages, given: Set<string>) {
  if (values.sliceRandom && values.slice === undefined)
    throw new UsageError(t.onlyWith("--slice-random", "--slice"));
  if (given.has("seed") && !values.sliceRandom)
    throw new UsageError(t.onlyWith("--seed", "--slice-random"));
  if (values.closeAfter !== undefined && values.resetAfter !== undefined)
    throw new UsageError(t.notWith("--close-after", "--reset-after"));
  return shapingOf(values);
}

/** The client's settings: --tls-ca and --insecure only make sense with TLS, so they imply it. */
export function clientSettings(values: ClientValues, t: Messages, given: Set<string>) {
  const { tls, tlsCa, insecure, ...rest } = values;
  const secure = tls || tlsCa !== undefined || insecure;
  if (rest.udp && secure) throw new UsageError(t.notWith("--udp", "--tls"));
  if (rest.udp && rest.unix !== undefined) throw new UsageError(t.notWith("--udp", "--unix"));
  if (rest.udp && rest.hexdump) throw new UsageError(t.notWith("--udp", "--hexdump"));
  if (given.has("retries") && !rest.udp) throw new UsageError(t.onlyWith("--retries", "--udp"));
  if (rest.unix !== undefined)
    for (const key of ["host", "port"] as const)
      if (given.has(key)) throw new UsageError(t.notWith("--unix", `--${key}`));
  return { ...rest, tls: secure ? { ca: tlsCa, insecure } : undefined };
}

/** `bun run probe`: checks any echo server (probe.ts). */
export const probeOptions = {
  host: { arg: "HOST", env: "ECHO_HOST", default: "127.0.0.1", parse: v.host, help: "probeHost" },
  port: { arg: "PORT", env: "ECHO_PORT", default: "5000", parse: v.clientPort, help: "clientPort" },
  expect: { arg: "MODE", default: "once", parse: v.mode, help: "probeExpect" },
  timeout: { arg: "SECS", default: "3", parse: v.seconds, help: "probeTimeout" },
  slowPause: { arg: "MS", default: "20", parse: v.milliseconds, help: "probeSlowPause" },
  tls: { help: "tls" },
  tlsCa: { arg: "FILE", parse: file, help: "tlsCa" },
  insecure: { help: "insecure" },
  json: { help: "probeJson" },
  lang: { arg: "LANG", help: "lang", parse: v.lang },
  client: { arg: "CMD", parse: file, help: "probeClient" },
} as const satisfies Table;

type ProbeValues = Values<typeof probeOptions>;

/** --tls-ca and --insecure imply --tls, as for the client. */
export function probeSettings(values: ProbeValues, t: Messages, given: Set<string>) {
  const { tls, tlsCa, insecure, ...rest } = values;
  const secure = tls || tlsCa !== undefined || insecure;
  // --client checks a client against the probe's own server: nothing of a server to name.
  if (rest.client !== undefined)
    for (const key of ["host", "port", "expect", "slowPause", "tls", "tlsCa", "insecure"] as const)
      if (given.has(key)) throw new UsageError(t.notWith("--client", flagOf(key)));
  // The default mode was checked, not asked for: a failure of its rule says how to ask for another.
  const expectGiven = given.has("expect");
  return { ...rest, tls: secure ? { ca: tlsCa, insecure } : undefined, expectGiven };
}

knownPrograms({ server: serverOptions, client: clientOptions, probe: probeOptions });
