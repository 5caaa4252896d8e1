#!/usr/bin/env bun
/**
 * echo server, the passive side of the lab: sends back every byte it receives, unchanged.
 *
 *   terminal 1                                   terminal 2
 *   $ bun run server                             $ bun run client
 *   listening on 127.0.0.1:5000 (mode once)      connected to 127.0.0.1:5000; type a message...
 *   #1 connected from 127.0.0.1:40312            > oi
 *   #1 received 3 bytes: "oi\n"                  oi
 *   #1 closed: 3 bytes echoed in 2.1 s           > fim
 *   (mode once: the server exits after its client)
 *
 * `--mode sequential` serves one client at a time while the others wait; `--mode concurrent`
 * serves everyone at once. `bun run server --help` lists every option.
 */
import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from "bun";
import pkg from "./package.json";
import { startup } from "./src/cli/command-line.ts";
import { serverOptions, serverSettings } from "./src/cli/options.ts";
import { type Conn, type Failure, held, newConn } from "./src/server/connection.ts";
import { Outbox } from "./src/common/outbox.ts";
import { newServerState } from "./src/server/state.ts";
import { modes } from "./src/server/modes.ts";
import { refuse, startSweep, sweepEvery } from "./src/server/limits.ts";
import { stopping } from "./src/server/stopping.ts";
import { printExit, sayTo } from "./src/common/say.ts";
import {
  restartsExposition,
  roleFrom,
  reusePortWorks,
  supervise,
  type ReusePort,
} from "./src/server/features/workers.ts";
import { onStopSignal } from "./src/common/signals.ts";
import { connectionsWithin, openFilesLimit } from "./src/server/kernel.ts";
import { formatAddress, preview, printablePath } from "./src/common/text.ts";
import {
  errorCode,
  errorReason,
  errorReasonCode,
  listenErrorCode,
  listenErrorMessage,
  tlsFileMessage,
} from "./src/common/errors.ts";
import { readTls, TlsFileError } from "./src/common/tls.ts";
import { hostResolves } from "./src/common/net.ts";
import { tracedSink } from "./src/common/trace.ts";
import { dumpedSink, hexdump, MAX_SHOWN } from "./src/common/hexdump.ts";
import type { ByteSink } from "./src/common/outbox.ts";
import { type DatagramEcho, serveDatagrams } from "./src/server/features/udp.ts";
import {
  claimSocketPath,
  removeOnExit,
  stopKeepingNewer,
  type UnixProblem,
} from "./src/server/features/unix-socket.ts";
import { ProxyHeaderReader } from "./src/server/features/proxy-protocol.ts";
import { within } from "./src/common/addresses.ts";
import { type Figures, exposition, addUp } from "./src/server/features/http/metrics.ts";
import {
  figuresOf,
  liveStateOf,
  noCounters,
  observeClose,
  processFigures,
  startEndpoint,
} from "./src/server/features/http/observe.ts";
import { HTTP_DESCRIPTORS } from "./src/server/features/http/endpoint.ts";
import type { LiveView } from "./src/server/features/http/live.ts";
import type { Messages } from "./src/messages/index.ts";

/** A --unix path that cannot be ours: its line, and its code in a JSON line. */
const UNIX_PROBLEM = {
  inUse: ["unixInUse", "in_use"],
  notSocket: ["unixNotSocket", "not_socket"],
  noDirectory: ["unixNoDirectory", "no_directory"],
  denied: ["unixDenied", "denied"],
} as const satisfies Record<UnixProblem, readonly [keyof Messages, string]>;

const started = startup(
  "server",
  serverOptions,
  Bun.argv.slice(2),
  process.env,
  pkg.version,
  serverSettings,
);
if (started.exit) (printExit(started.exit), process.exit(started.exit.code));
const { t, settings } = started;
const { mode, maxBuffer } = settings;
const role = roleFrom(process.env); // alone, or one of --workers N
const say = sayTo({ ...settings, worker: role.worker });

// With --workers, the counters live in a file the supervisor reads (src/server/features/shared-figures.ts).
const state = newServerState(role.counters(noCounters()));
const { connections, stats } = state;
let listener: TCPSocketListener<Conn> | UnixSocketListener<Conn> | undefined;
let datagrams: DatagramEcho | undefined; // --udp
let liveView: LiveView | undefined; // --http-port: the live page
const startTime = Date.now() / 1000;

// ---- one connection's life: one handler object shared by every connection ----------------------
const lifecycle: SocketHandler<Conn> = {
  binaryType: "buffer", // measured faster in Bun 1.4.5 than "uint8array" (bench/RESULTS.md)

  open(socket) {
    if (connections.size >= settings.maxConnections)
      return refuse(state, { say, t }, socket, settings.maxConnections);
    const c = (socket.data = newConn(role.nextId(stats.connections++), state.now));
    connections.add(socket);
    // Behind a balancer, who the client is comes first, in the PROXY header (src/server/features/proxy-protocol.ts).
    if (settings.proxyProtocol) return awaitProxyHeader(socket);
    if (say.showsConnections || settings.trace || liveView?.watched) {
      // Made only to be printed: kept on every connection, it cost 0.2 KB each (bench idle).
      say.trace(c.id, "open", peerOf(socket, say.json));
      say.event("open", { id: c.id, ...peerFields(socket) }, () => t.opened(c.id, peerOf(socket)));
    }
    served.admit(socket);
  },

  data(socket, chunk: Buffer) {
    const c = socket.data;
    if (c.proxy?.reader !== undefined && (chunk = proxyHeaderOf(socket, chunk)).length === 0)
      return;
    c.received += chunk.length;
    stats.received += chunk.length;
    c.seen = state.now;
    c.unconfirmed = true;
    say.trace(c.id, "data", chunk.length);
    if (settings.hexdump) dumpPiece(c, "in", chunk);
    else if (say.showsData) {
      const size = chunk.length;
      const text = () => t.received(c.id, size, preview(chunk));
      say.event("data", { id: c.id, bytes: size }, text, "data");
    }
    echo(socket, chunk);
  },

  drain(socket) {
    say.trace(socket.data.id, "drain", held(socket.data));
    socket.data.seen = state.now;
    flush(socket);
  },

  end(socket) {
    const c = socket.data;
    if (c.proxy?.reader) return refuseProxy(socket, "incomplete"); // gone before its header
    // The peer sent its last byte (FIN) but may still be reading: finish its echo, then close.
    c.peerEnded = true;
    say.trace(c.id, "end", held(c));
    if (held(c) === 0) socket.end();
  },

  close(socket, error) {
    const c = socket.data;
    if (c === undefined) return; // refused, or failed before open() finished
    const unsent = c.outbox?.clear() ?? 0; // never handed to the kernel
    const undelivered = c.undelivered || unsent;
    const echoed = c.received - undelivered;
    stats.echoed += echoed;
    if (!c.refused) observeClose(stats, (performance.now() - c.openedAt) / 1000, c.received);
    connections.delete(socket);
    if (c.proxy) clearTimeout(c.proxy.timer);
    if ((say.showsConnections || settings.trace || liveView?.watched) && !c.refused) {
      const failure = error ? failureOf(error) : c.failure;
      const reason = failure?.text;
      say.trace(c.id, "close", (say.json ? failure?.reason : reason) ?? "");
      const secs = (performance.now() - c.openedAt) / 1000;
      const fields = { id: c.id, echoed, undelivered, seconds: secs };
      say.event("close", { ...fields, reason: failure?.reason, error: failure?.error }, () =>
        t.closed(c.id, echoed, secs, reason, undelivered),
      );
    }
    served.release(socket);
  },

  error(socket, error) {
    // Also reached when a handler above throws: that ends this connection, never the server.
    const [id, failure] = [socket.data?.id ?? 0, failureOf(error)];
    const text = () => t.connectionError(id, failure.text);
    say.warn("connectionError", { id, reason: failure.reason, error: failure.error }, text);
    if (socket.data) socket.data.failure = failure;
    socket.terminate();
  },

  handshake(socket, ok, error) {
    // TLS: a client that does not speak it, or gives up, would otherwise close with no reason.
    // A handshake the server itself cut (an idle timeout, a stop) keeps that reason.
    if (!ok && socket.data && error && socket.data.failure === undefined)
      socket.data.failure = /WRONG_VERSION_NUMBER|HTTP_REQUEST/.test(error.message)
        ? { reason: "not_tls", text: t.clientNotTls }
        : {
            reason: "tls_handshake",
            error: error.message,
            text: t.tlsHandshakeFailed(error.message),
          };
  },
};

/**
 * The kernel did not take all of the echo. Below --max-buffer, keep reading (drain() will flush);
 * at or above it, stop reading until the outbox is empty.
 */
/** The echo: what the kernel does not take now is kept (made at the first short write). */
function echo(socket: Socket<Conn>, chunk: Buffer): void {
  const c = socket.data;
  const out = c.outbox;
  if (out !== undefined && !out.empty) {
    const before = out.bytes;
    const sent = out.send(sink(socket), chunk);
    // Counted as the kernel takes it, not at close: a worker killed now has counted it all.
    stats.written += chunk.length + before - out.bytes;
    if (!sent) holdBack(socket, out);
    return;
  }
  const written = sink(socket).write(chunk);
  if (written > 0) stats.written += written;
  if (written === chunk.length) return;
  const kept = (c.outbox ??= new Outbox());
  kept.hold(chunk, written);
  holdBack(socket, kept);
}

function holdBack(socket: Socket<Conn>, outbox: Outbox): void {
  const c = socket.data;
  if (outbox.broken) {
    c.failure = { reason: "lost", text: t.connectionLost };
    return socket.terminate(); // write() said -1; Bun may never call close() by itself
  }
  if (outbox.bytes < maxBuffer || c.paused) return;
  c.paused = true;
  socket.pause();
  say.trace(c.id, "pause", outbox.bytes);
}

/** Writes what the outbox holds; once it is empty, reads again (or closes, after the peer's FIN). */
function flush(socket: Socket<Conn>): void {
  const c = socket.data;
  // Bun also calls drain when nothing was held back (right after open, seen in 1.4.5): only a
  // pause made for a full outbox is ours to undo.
  const out = c.outbox;
  if (out === undefined || out.empty) return;
  const before = out.bytes;
  const flushed = out.flush(sink(socket));
  stats.written += before - out.bytes;
  if (!flushed) return holdBack(socket, out);
  if (c.peerEnded) socket.end();
  else if (c.paused) {
    c.paused = false;
    socket.resume();
    say.trace(c.id, "resume");
  }
}

// With --trace every write is reported (bytes taken of bytes offered), with --hexdump every byte
// the kernel took; without either, the socket itself.
function sink(socket: Socket<Conn>): ByteSink {
  const c = socket.data;
  const traced = settings.trace ? tracedSink(socket, c.id, say.trace) : socket;
  return settings.hexdump ? dumpedSink(traced, (bytes) => dumpPiece(c, "out", bytes)) : traced;
}

/** --hexdump: one piece, in (received) or out (taken by the kernel), at its stream offset. */
function dumpPiece(c: Conn, way: "in" | "out", bytes: Uint8Array): void {
  const dumped = (c.dumped ??= { in: 0, out: 0 });
  const offset = dumped[way];
  dumped[way] += bytes.length;
  const head = way === "in" ? t.hexIn(c.id, bytes.length) : t.hexOut(c.id, bytes.length);
  const lines = hexdump(head, bytes, offset, t.hexNotShown);
  const fields = {
    id: c.id,
    way,
    offset,
    bytes: bytes.length,
    hex: Buffer.from(bytes.subarray(0, MAX_SHOWN)).toString("hex"),
  };
  say.event(way === "in" ? "data" : "write", fields, () => lines.join("\n"), "data");
}

/** Bun leaves remoteAddress undefined for a peer that reset before open() ran: not an error... */
function peerOf(socket: Socket<Conn>, codes = false): string {
  if (settings.unix !== undefined) return codes ? "unix" : t.unixPeer;
  // ...or, in a narrower window, the address but not yet the port.
  const [host, port] = [socket.remoteAddress, socket.remotePort];
  if (host && typeof port === "number") return formatAddress(host, port);
  return codes ? "unknown" : t.unknownPeer;
}

/** The peer for a JSON line: `ip` and `port`, `peer: "unix"`, or nothing when Bun has not said. */
function peerFields(socket: Socket<Conn>): { ip?: string; port?: number; peer?: "unix" } {
  if (settings.unix !== undefined) return { peer: "unix" };
  const [ip, port] = [socket.remoteAddress, socket.remotePort];
  return ip && typeof port === "number" ? { ip, port } : {};
}

/** Why a connection ended in an error: the code for a JSON line, the words for a person. */
function failureOf(error: unknown): Failure {
  return { ...errorReasonCode(error), text: errorReason(t, error) };
}

// ---- behind a load balancer: the PROXY header names the client (src/server/features/proxy-protocol.ts) ---------
const PROXY_HEADER_MS = 3000; // a balancer sends it at once; a client that does not, never will

function awaitProxyHeader(socket: Socket<Conn>): void {
  const c = socket.data;
  // --proxy-from: a header names the client we log, so only the balancers may send one.
  const { proxyFrom } = settings;
  if (proxyFrom !== undefined && !within(socket.remoteAddress, proxyFrom))
    return refuseUntrusted(socket);
  const timer = setTimeout(() => refuseProxy(socket, "timeout"), PROXY_HEADER_MS);
  c.proxy = { reader: new ProxyHeaderReader(), timer };
  say.trace(c.id, "open", peerOf(socket, say.json));
}

/** Feeds the header reader; returns the bytes after the header (none until it is complete). */
function proxyHeaderOf(socket: Socket<Conn>, chunk: Buffer): Buffer {
  const proxy = socket.data.proxy;
  const c = socket.data;
  if (proxy?.reader === undefined) return chunk;
  const result = proxy.reader.push(chunk);
  if (result.state === "more") return EMPTY;
  if (result.state === "invalid") {
    refuseProxy(socket, result.problem);
    return EMPTY;
  }
  proxy.reader = undefined;
  clearTimeout(proxy.timer);
  const { header } = result;
  const balancer = peerOf(socket);
  const client = header.source && formatAddress(header.source.address, header.source.port);
  proxy.client = client;
  say.trace(c.id, "proxy", `v${header.version}`, header.command, client ?? "");
  const balancerAt = peerFields(socket);
  const fields = {
    id: c.id,
    ip: header.source?.address,
    port: header.source?.port,
    balancer_ip: balancerAt.ip,
    balancer_port: balancerAt.port,
    proxy: header.version,
    command: header.command,
  };
  if (header.command === "LOCAL")
    say.event("open", fields, () => t.proxyLocal(c.id, balancer, header.version));
  else if (client === undefined)
    say.event("open", fields, () => t.proxyUnknown(c.id, balancer, header.version));
  else say.event("open", fields, () => t.viaProxy(c.id, client, balancer, header.version));
  // A LOCAL header is the balancer's own check, but anyone can send one: the mode's rules (a
  // turn in the queue, mode once's one client) apply to it as to every connection.
  served.admit(socket);
  if (mode === "once" && state.current !== socket) return EMPTY; // refused: not the one client
  const rest = Buffer.from(result.rest.buffer, result.rest.byteOffset, result.rest.length);
  if (!c.waitingTurn || rest.length === 0) return rest;
  proxy.early = [rest];
  return EMPTY;
}
const EMPTY = Buffer.alloc(0);

function refuseProxy(socket: Socket<Conn>, problem: keyof Messages["proxyProblem"]): void {
  const c = socket.data;
  if (c.proxy?.reader === undefined) return;
  c.proxy.reader = undefined;
  c.refused = true;
  stats.refused.proxy_header++;
  // A flood of bad headers is one line, then one a second with how many more (per problem).
  const fields = { id: c.id, ...peerFields(socket), reason: "proxy_header", problem };
  const text = () => t.proxyRefused(c.id, peerOf(socket), t.proxyProblem[problem]);
  const more = (count: number) => () => t.proxyRefusedMore(count, t.proxyProblem[problem]);
  say.burst(
    `proxy_header ${problem}`,
    () => say.event("refused", fields, text, "warn"),
    (count) =>
      say.event("refusedMore", { reason: "proxy_header", problem, count }, more(count), "warn"),
  );
  socket.terminate(); // nothing of it is echoed
}

function refuseUntrusted(socket: Socket<Conn>): void {
  const c = socket.data;
  c.refused = true;
  stats.refused.untrusted++;
  const fields = { id: c.id, ...peerFields(socket), reason: "untrusted" };
  say.burst(
    "untrusted",
    () => say.event("refused", fields, () => t.untrustedRefused(c.id, peerOf(socket)), "warn"),
    (count) =>
      say.event(
        "refusedMore",
        { reason: "untrusted", count },
        () => t.untrustedMore(count),
        "warn",
      ),
  );
  socket.terminate(); // nothing of it is read or echoed
}

// ---- modes, limits and stopping (src/server/) -----------------------------------------------------
const voice = { say, t };
const served = modes(mode, state, voice, {
  stopListening,
  finish: () => stop.finish(),
  replay: (socket, bytes) => lifecycle.data!(socket, bytes),
});
const stop = stopping(settings, state, voice, {
  stopListening,
  listensNoMore: () => mode === "once" && state.current !== undefined,
  flush,
  belowCaret: () => {
    if (role.alone) say.belowCaret();
  },
  summary: () => {
    const secs = (performance.now() - stats.startedAt) / 1000;
    const summary = { connections: stats.connections, echoed: stats.echoed };
    return role.finish(summary, () =>
      say.event(
        "stopped",
        { ...summary, seconds: secs },
        () => t.summary(summary.connections, summary.echoed, secs),
        "strong",
      ),
    );
  },
  exit: (code) => process.exit(code),
});

function stopListening(): void {
  if (listener) stopKeepingNewer(() => listener!.stop(), settings.unix);
}

// ---- start: listen here, or run --workers copies of this program and watch over them -----------
// An exception outside a socket handler (those end one connection, in error() above) leaves the
// server in a state nobody can vouch for: exit with a status of its own; --workers restarts.
const INTERNAL_ERROR = 70; // EX_SOFTWARE
for (const event of ["uncaughtException", "unhandledRejection"] as const)
  process.on(event, (error: unknown) => {
    // The exception's own message (never translated) is what an operator reports.
    const detail = String((error as Error | null)?.message ?? error).split("\n")[0];
    const fields = { error: errorReasonCode(error).error ?? errorCode(error), detail };
    say.error("internalError", fields, () => t.internalError(errorReason(t, error)));
    process.exit(INTERNAL_ERROR);
  });

const { host } = settings;
const workers = settings.workers > 1 && role.alone && !reusePortWorks(host) ? 1 : settings.workers;
if (workers < settings.workers) say.warn("noReusePort", {}, t.noReusePort);
// A path is printed escaped: a newline in it would split the listening line.
const unixPath = settings.unix === undefined ? undefined : printablePath(settings.unix);
const place = (port: number) => unixPath ?? formatAddress(host, port);
const label = [
  settings.udp ? "UDP" : t.modeLabel(mode),
  workers > 1 && t.workers(workers),
  settings.tlsFiles && "TLS",
].filter(Boolean);
const announce = (port: number) =>
  say.event(
    "listening",
    { ...placeFields(port), mode: settings.udp ? "udp" : mode },
    () => t.listening(place(port), label.join(", ")),
    "always",
  );

if (workers > 1 && role.alone) {
  // The workers share their port with SO_REUSEPORT, which would let them join a listener that
  // set it too (another echo with --workers): the port must be free first, as without --workers.
  if (settings.port !== 0) {
    try {
      Bun.listen({ hostname: host, port: settings.port, socket: { data() {} } }).stop(true);
    } catch (error) {
      await sayListenFailed(error, false);
      process.exit(1);
    }
  }
  process.exit(
    await supervise({
      count: workers,
      port: settings.port,
      listening: announce,
      stopping: () => say.belowCaret(),
      // `worker` on a line names the worker that wrote it: the supervisor's own are about a child.
      died: (k, pid, code, signal) =>
        say.warn(
          "workerDied",
          { child: k, child_pid: pid, code: code ?? undefined, signal: signal ?? undefined },
          () => t.workerDied(k, pid, t.exitedWith(code, signal)),
        ),
      failing: (k) => say.error("workerFailing", { child: k }, () => t.workerFailing(k)),
      hung: (k, pid, secs) =>
        say.warn("workerHung", { child: k, child_pid: pid, seconds: secs }, () =>
          t.workerHung(k, pid, secs),
        ),
      shared: (port) =>
        say.error("portShared", { host, port }, () => t.portShared(formatAddress(host, port))),
      render: (f) => exposition(f, startTime, false),
      // Read from the workers' shared files: no request to them, nothing to wait for. The
      // parent's own CPU, memory and descriptors count too: it is part of the target.
      serving: (figures, restarts, ready) =>
        serveHttp(
          ready,
          () =>
            exposition(addUp([figures(), processFigures()]), startTime, settings.udp) +
            restartsExposition(restarts()),
        ),
      summary: (all, code) => {
        const secs = (performance.now() - stats.startedAt) / 1000;
        if (all.connections > 0 || code === 0)
          say.event(
            "stopped",
            { ...all, seconds: secs },
            () => t.summary(all.connections, all.echoed, secs),
            "strong",
          );
      },
    }),
  );
}
if (settings.udp) {
  // Datagrams instead of connections (src/server/features/udp.ts): no lifecycle, until a stop signal.
  const code = await serveDatagrams(
    { ...settings, t, say, startedAt: stats.startedAt, announce },
    (echo) => {
      datagrams = echo;
      serveHttp(
        () => !echo.closed,
        () => exposition(figures(), startTime, true),
      );
    },
  );
  process.exit(code);
}

// More connections than descriptors would make accept() fail again and again (EMFILE): cap them,
// after what the HTTP endpoint may hold.
const filesLimit = openFilesLimit();
const forEcho = filesLimit && filesLimit - (settings.httpPort === undefined ? 0 : HTTP_DESCRIPTORS);
if (forEcho !== undefined && connectionsWithin(forEcho) < settings.maxConnections) {
  settings.maxConnections = connectionsWithin(forEcho);
  const [limit, max] = [filesLimit!, settings.maxConnections];
  say.warn("filesLimitLower", { limit, max }, () => t.filesLimitLower(limit, max));
}

const tls =
  settings.tlsFiles &&
  (await readTls(settings.tlsFiles).catch((error: unknown) => {
    if (!(error instanceof TlsFileError)) throw error;
    const { kind: file, path, problem } = error;
    say.error("tlsFile", { file, path, problem }, () => tlsFileMessage(t, error));
    process.exit(1);
  }));
const unixProblem = settings.unix !== undefined && (await claimSocketPath(settings.unix));
if (unixProblem) (sayUnixProblem(unixProblem), process.exit(1));
try {
  const common = { tls, allowHalfOpen: true, socket: lifecycle };
  if (settings.unix !== undefined) listener = Bun.listen<Conn>({ unix: settings.unix, ...common });
  else {
    const options: Bun.TCPSocketListenOptions<Conn> & ReusePort = {
      hostname: host,
      port: role.port(settings.port),
      reusePort: !role.alone,
      ...common,
    };
    listener = Bun.listen<Conn>(options);
  }
} catch (error) {
  if (settings.unix !== undefined) {
    const code = errorCode(error);
    const problem = code === "EADDRINUSE" ? "inUse" : code === "ENOENT" ? "noDirectory" : "denied";
    if (code === "EADDRINUSE" || code === "ENOENT" || code === "EACCES" || code === "EPERM")
      sayUnixProblem(problem);
    else
      say.error("listenFailed", { path: settings.unix, error: code ?? "unknown" }, () =>
        t.listenFailed(unixPath!, errorReason(t, error)),
      );
  } else await sayListenFailed(error, tls !== undefined);
  process.exit(1);
}
if (settings.unix !== undefined) removeOnExit(settings.unix); // ours now: it goes when we do

/** The line for a --unix path that cannot be ours. */
function sayUnixProblem(problem: UnixProblem): void {
  const [key, code] = UNIX_PROBLEM[problem];
  say.error("listenFailed", { path: settings.unix, error: code }, () => t[key](unixPath!));
}

/** Where it listens, for a JSON line: the path, or the host and port. */
function placeFields(port: number): { path: string } | { host: string; port: number } {
  return settings.unix !== undefined ? { path: settings.unix } : { host, port };
}
// Handlers first: whoever sees the listening line may signal us at once.
onStopSignal(stop.stop);
role.onOrphaned(() => stop.stop("SIGTERM"));
if (settings.idleTimeout > 0) {
  const limitMs = settings.idleTimeout * 1000;
  const reason = () => ({ reason: "idle_timeout", text: t.idleClosed(settings.idleTimeout) });
  startSweep(
    state,
    { limitMs, everyMs: sweepEvery(limitMs, 1000), reason, counted: "idle" },
    flush,
  );
}
const port = "port" in listener! ? listener.port : 0;
say.trace(0, "listen", place(port));
// The health port before the listening line: whoever waits for that line may ask it at once.
if (role.alone) serveHttp(ready, () => exposition(figures(), startTime, false));
if (settings.onceByDefault) say.warn("onceByDefault", {}, t.onceByDefault); // once it serves
role.heartbeat(figures);
role.listening(port, () => announce(port));

/**
 * Serving, as a balancer asks: not once a stop came, nor in mode once once its client came, nor
 * while full (at --max-connections a new connection is closed at once).
 */
function ready(): boolean {
  const full = connections.size >= settings.maxConnections;
  return (
    listener !== undefined &&
    !state.stopping &&
    !full &&
    !(mode === "once" && state.current !== undefined)
  );
}

/** The line for a TCP port that cannot be listened on (taken, denied, a host not found...). */
async function sayListenFailed(error: unknown, secure: boolean): Promise<void> {
  const [resolves, port] = [await hostResolves(host), settings.port];
  const fields = { host, port, error: listenErrorCode(error, secure, resolves) };
  say.error("listenFailed", fields, () =>
    listenErrorMessage(t, error, host, port, secure, resolves),
  );
}

function figures(): Figures {
  return figuresOf(connections, stats, datagrams?.stats);
}

/** --http-port: /healthz, /readyz, /metrics, and the live page where this process can show it. */
function serveHttp(ready: () => boolean, metrics: () => Promise<string> | string): void {
  if (settings.httpPort === undefined) return;
  const tcpAlone = role.alone && workers === 1 && !settings.udp; // holds the connections itself
  const live = tcpAlone ? () => liveStateOf(connections, figures(), peerOf) : undefined;
  const started = startEndpoint({
    host: settings.httpHost,
    port: settings.httpPort,
    t,
    say,
    ready,
    metrics,
    live,
  });
  if ("error" in started) {
    const fields = { host: settings.httpHost, port: settings.httpPort, error: started.code };
    say.error("httpFailed", fields, started.error);
    process.exit(1);
  }
  if (started.view) ((say.trace = started.view.tap(say.trace)), (liveView = started.view));
}
