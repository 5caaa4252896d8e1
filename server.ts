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
import type { Socket, SocketHandler } from "bun";
import { startProgram } from "./src/cli/command-line.ts";
import { serverOptions, serverSettings } from "./src/cli/options.ts";
import { printExit, sayTo } from "./src/common/say.ts";
import { onStopSignal } from "./src/common/signals.ts";
import { Outbox } from "./src/common/outbox.ts";
import { type Conn, held, newConn } from "./src/server/connection.ts";
import { newServerState } from "./src/server/state.ts";
import { compose } from "./src/server/stages.ts";
import { peers } from "./src/server/peer.ts";
import { modes } from "./src/server/modes.ts";
import { ready, refuse, startIdleSweep } from "./src/server/limits.ts";
import { onCrash, saySummary, stopping } from "./src/server/stopping.ts";
import { announcer, connectionsCap, type Listener, listenStreams } from "./src/server/listen.ts";
import { runSupervisor, workerCount } from "./src/server/supervisor.ts";
import { connectionLog } from "./src/server/features/connection-log.ts";
import { proxyHeader } from "./src/server/features/proxy-header.ts";
import { shaping } from "./src/server/features/shaping.ts";
import { roleFrom } from "./src/server/features/workers.ts";
import { stopKeepingNewer } from "./src/server/features/unix-socket.ts";
import { serveDatagrams } from "./src/server/features/udp.ts";
import { connectionClosed, noCounters } from "./src/server/features/http/observe.ts";
import { SidePort } from "./src/server/features/http/side-port.ts";

const started = startProgram("server", serverOptions, serverSettings, (t) => ({
  intro: t.serverIntro,
  outro: t.serverOutro,
}));
if (started.exit) process.exit(printExit(started.exit));
const { t, settings } = started;
const { mode, maxBuffer } = settings;
const role = roleFrom(process.env); // alone, or one of --workers N
const say = sayTo({ ...settings, worker: role.worker });
const voice = { say, t };
// With --workers, the counters live in a file the supervisor reads (features/shared-figures.ts).
const state = newServerState(role.counters(noCounters()));
const { connections, stats } = state;

// ---- one connection's life: one handler object shared by every connection ----------------------
const lifecycle: SocketHandler<Conn> = {
  binaryType: "buffer", // measured faster in Bun 1.4.5 than "uint8array" (bench/RESULTS.md)

  open(socket) {
    if (connections.size >= maxConnections) return refuse(state, voice, socket, maxConnections);
    socket.data = newConn(role.nextId(stats.connections++), state.now);
    connections.add(socket);
    if (!stages.open(socket)) served.admit(socket); // a stage may hold it (a PROXY header)
  },

  data(socket, chunk: Buffer) {
    if (onData !== undefined && (chunk = onData(socket, chunk)).length === 0) return;
    echo(socket, chunk);
  },

  drain(socket) {
    say.trace(socket.data.id, "drain", held(socket.data));
    socket.data.seen = state.now;
    flush(socket);
  },

  end(socket) {
    if (stages.end(socket)) return;
    // The peer sent its last byte (FIN) but may still be reading: finish its echo, then close.
    const c = socket.data;
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
    if (!c.refused) connectionClosed(stats, (performance.now() - c.openedAt) / 1000, c.received);
    connections.delete(socket);
    stages.close(socket, { echoed, undelivered, failure: error ? peer.failure(error) : c.failure });
    served.release(socket);
  },

  error(socket, error) {
    // Also reached when a handler above throws: that ends this connection, never the server.
    const [id, failure] = [socket.data?.id ?? 0, peer.failure(error)];
    const text = () => t.connectionError(id, failure.text);
    say.warn("connectionError", { id, reason: failure.reason, error: failure.error }, text);
    if (socket.data) socket.data.failure = failure;
    socket.terminate();
  },

  handshake: (socket, ok, error) => peer.handshake(socket, ok, error), // TLS: why it failed
};

/** The echo, counted; what the kernel does not take now is kept (made at the first short write). */
function echo(socket: Socket<Conn>, chunk: Buffer): void {
  const c = socket.data;
  c.received += chunk.length;
  stats.received += chunk.length;
  c.seen = state.now;
  c.unconfirmed = true;
  const out = c.outbox;
  if (out !== undefined && !out.empty) {
    const before = out.bytes;
    const sent = out.send(stages.sink(socket), chunk);
    // Counted as the kernel takes it, not at close: a worker killed now has counted it all.
    stats.written += chunk.length + before - out.bytes;
    if (!sent) holdBack(socket, out);
    return;
  }
  const written = stages.sink(socket).write(chunk);
  if (written > 0) stats.written += written;
  if (written === chunk.length) return;
  const kept = (c.outbox ??= new Outbox());
  kept.hold(chunk, written);
  holdBack(socket, kept);
}

/**
 * The kernel did not take all of the echo. Below --max-buffer, keep reading (drain() will flush);
 * at or above it, stop reading until the outbox is empty.
 */
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
  const flushed = out.flush(stages.sink(socket));
  stats.written += before - out.bytes;
  if (!flushed) return holdBack(socket, out);
  if (c.peerEnded) socket.end();
  else if (c.paused) {
    c.paused = false;
    socket.resume();
    say.trace(c.id, "resume");
  }
}

// ---- composed once: the features that are on, the mode, the limits, the stop ------------------
let listener: Listener | undefined;
const peer = peers(t, settings.unix !== undefined);
const side = new SidePort(settings, voice, state, peer); // --http-port
const served = modes(mode, state, voice, {
  stopListening,
  finish: () => stop.finish(),
  replay: (socket, bytes) => lifecycle.data?.(socket, bytes),
});
const stages = compose([
  settings.proxyProtocol ? proxyHeader(settings, state, voice, peer, served.admit) : undefined,
  connectionLog(settings, voice, peer, side.watched),
  // Outside the log's sink: --trace and --hexdump show each piece as it is written.
  shaping(settings.shaping, state, voice, flush),
]);
const onData = stages.data;
const stop = stopping(settings, state, voice, {
  stopListening,
  listensNoMore: () => mode === "once" && state.current !== undefined,
  flush,
  belowCaret: () => role.alone && say.belowCaret(),
  summary: () => {
    const totals = { connections: stats.connections, echoed: stats.echoed };
    return role.finish(totals, () => saySummary(voice, totals, stats.startedAt));
  },
  exit: (code) => process.exit(code),
});

function stopListening(): void {
  const stopped = listener;
  if (stopped) stopKeepingNewer(() => stopped.stop(), settings.unix);
}

// ---- start: listen here, or run --workers copies of this program and watch over them -----------
onCrash(voice, (code) => process.exit(code));
const workers = workerCount(settings, role, voice);
const { place, announce } = announcer(settings, voice, workers);
type Metrics = () => Promise<string> | string;
const serveHttp = (ready: () => boolean, metrics: Metrics = side.metrics, live = false) => {
  if (!side.serve(ready, metrics, live)) process.exit(1);
};
const { startedAt } = stats;
if (workers > 1 && role.alone) {
  const parts = { count: workers, startedAt, startTime: side.startTime, announce, serveHttp };
  process.exit(await runSupervisor(settings, voice, parts));
}
if (settings.udp) {
  // Datagrams instead of connections (features/udp.ts): no lifecycle, until a stop signal.
  const udp = { ...settings, t, say, startedAt, announce };
  const code = await serveDatagrams(udp, (echo) => {
    side.datagrams = echo.stats;
    serveHttp(() => !echo.closed);
  });
  process.exit(code);
}
const maxConnections = connectionsCap(settings, voice);
listener = await listenStreams(settings, role, lifecycle, voice);
if (listener === undefined) process.exit(1);
// Handlers first: whoever sees the listening line may signal us at once.
onStopSignal(stop.stop);
role.onOrphaned(() => stop.stop("SIGTERM"));
if (settings.idleTimeout > 0) startIdleSweep(state, settings.idleTimeout, t, flush);
const port = "port" in listener ? listener.port : 0;
say.trace(0, "listen", place(port));
// The health port before the listening line: whoever waits for that line may ask it at once.
const live = workers === 1; // the live page, where one process holds every connection
if (role.alone) serveHttp(() => ready(state, mode, maxConnections), side.metrics, live);
if (settings.onceByDefault) say.warn("onceByDefault", {}, t.onceByDefault); // once it serves
role.heartbeat(side.figures);
role.listening(port, () => announce(port));
