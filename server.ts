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
import { parseArgs } from "node:util";
import type { Socket, SocketHandler, TCPSocketListener } from "bun";
import pkg from "./package.json";
import { messagesFor } from "./src/messages/index.ts";
import {
  describeParseError,
  tlsPair,
  parseBytes,
  parseCount,
  parseMode,
  parsePort,
  parseSeconds,
  parseWorkers,
  pick,
  UsageError,
} from "./src/options.ts";
import { Outbox } from "./src/outbox.ts";
import { formatAddress, preview } from "./src/text.ts";
import { errorReason, listenErrorMessage } from "./src/errors.ts";
import { readTls } from "./src/tls.ts";
import { paintLine, stylesFor } from "./src/colors.ts";
import { traceTo, tracedSink } from "./src/trace.ts";
import { type ReusePort, reusePortWorks, supervise, workerRole } from "./src/workers.ts";

const DEFAULT_HOST = "127.0.0.1"; // loopback: safe by default; --host 0.0.0.0 serves other machines
const DEFAULT_PORT = "5000";
const DEFAULT_MODE = "once"; // the lab's rule: serve one client, then exit
const DEFAULT_MAX_CONNECTIONS = "10000";
const DEFAULT_IDLE_TIMEOUT_S = "300"; // 0 = never
const DEFAULT_MAX_BUFFER = "256k"; // echo held for a peer that reads slower than it sends
const DEFAULT_WORKERS = "1"; // processes sharing the port; auto = one per core
const STOP_GRACE_MS = 2000; // after a stop signal, a connection this long without traffic is closed

// ---- command line -------------------------------------------------------------------------------
const argv = Bun.argv.slice(2);
const { t, badLang } = messagesFor(argv, process.env);
const out = stylesFor(process.stdout.isTTY, process.env);
const err = stylesFor(process.stderr.isTTY, process.env);
const {
  host,
  port,
  mode,
  quiet,
  tracing,
  maxConnections,
  idleTimeout,
  maxBuffer,
  tlsFiles,
  workers,
} = (() => {
  try {
    if (badLang !== undefined) throw new UsageError(t.badLang(badLang));
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        mode: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        trace: { type: "boolean" },
        "max-connections": { type: "string" },
        "idle-timeout": { type: "string" },
        "max-buffer": { type: "string" },
        workers: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        lang: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
    if (values.help) exit(0, t.serverHelp);
    if (values.version) exit(0, pkg.version);
    const env = process.env;
    const port = pick(values.port, "--port", env.ECHO_PORT, "ECHO_PORT", DEFAULT_PORT);
    const mode = pick(values.mode, "--mode", env.ECHO_MODE, "ECHO_MODE", DEFAULT_MODE);
    const maxConnections = pick(
      values["max-connections"],
      "--max-connections",
      env.ECHO_MAX_CONNECTIONS,
      "ECHO_MAX_CONNECTIONS",
      DEFAULT_MAX_CONNECTIONS,
    );
    const idle = pick(
      values["idle-timeout"],
      "--idle-timeout",
      env.ECHO_IDLE_TIMEOUT,
      "ECHO_IDLE_TIMEOUT",
      DEFAULT_IDLE_TIMEOUT_S,
    );
    const maxBuffer = pick(
      values["max-buffer"],
      "--max-buffer",
      env.ECHO_MAX_BUFFER,
      "ECHO_MAX_BUFFER",
      DEFAULT_MAX_BUFFER,
    );
    const workers = pick(
      values.workers,
      "--workers",
      env.ECHO_WORKERS,
      "ECHO_WORKERS",
      DEFAULT_WORKERS,
    );
    const chosen = {
      host: pick(values.host, "--host", env.ECHO_HOST, "ECHO_HOST", DEFAULT_HOST).value,
      port: parsePort(t, port.value, port.source, true),
      mode: parseMode(t, mode.value, mode.source),
      quiet: values.quiet === true,
      tracing: values.trace === true,
      maxConnections: parseCount(t, maxConnections.value, maxConnections.source),
      idleTimeout: idle.value.trim() === "0" ? 0 : parseSeconds(t, idle.value, idle.source),
      maxBuffer: parseBytes(t, maxBuffer.value, maxBuffer.source),
      tlsFiles: tlsPair(
        t,
        values["tls-cert"] ?? env.ECHO_TLS_CERT,
        values["tls-key"] ?? env.ECHO_TLS_KEY,
      ),
      workers: parseWorkers(t, workers.value, workers.source, navigator.hardwareConcurrency),
    };
    if (chosen.workers > 1 && chosen.mode !== "concurrent")
      throw new UsageError(t.workersNeedConcurrent(chosen.mode));
    return chosen;
  } catch (error) {
    const problem = error instanceof UsageError ? error.message : describeParseError(t, error);
    return exit(2, t.usageError(problem, "server"), true);
  }
})();

function exit(code: number, line: string, toStderr = false): never {
  if (toStderr) console.error(paintLine(err, line));
  else console.log(line);
  process.exit(code);
}
const warn = (line: string) => console.error(paintLine(err, line));
const info = quiet ? () => {} : (line: string) => console.log(line);
const trace = tracing ? traceTo(console.error) : () => {};

// ---- one connection's life ----------------------------------------------------------------------
interface Conn {
  id: number;
  openedAt: number;
  received: number;
  outbox: Outbox; // echo bytes the kernel has not taken yet
  peerEnded: boolean; // the peer half-closed: close once its echo is out
  paused: boolean; // not reading: the outbox reached --max-buffer
  waiting: boolean; // sequential: connected, waiting for its turn (not read, not timed out)
  seen: number; // idle sweep tick of the last traffic
  failure?: string; // why the server itself ended the connection
}

const open = new Set<Socket<Conn>>();
const stats = { connections: 0, echoed: 0, startedAt: performance.now() };
const role = workerRole(process.env); // set when this process is one of --workers N
// A worker numbers its connections k, k+N, k+2N...: unique across the N processes.
const nextId = () => (role ? stats.connections++ * role.count + role.index : ++stats.connections);

// Chunks arrive as Buffers: measured faster in Bun 1.4.5 than "uint8array" (bench/RESULTS.md).
const connection: SocketHandler<Conn> = {
  binaryType: "buffer",

  open(socket) {
    if (open.size >= maxConnections) return refuse(socket);
    const c: Conn = {
      id: nextId(),
      openedAt: performance.now(),
      received: 0,
      outbox: new Outbox(),
      peerEnded: false,
      paused: false,
      waiting: false,
      seen: tick,
    };
    socket.data = c;
    open.add(socket);
    if (!quiet || tracing) {
      // Made only to be printed: kept on every connection, it cost 0.2 KB each (bench idle).
      const peer = formatAddress(socket.remoteAddress, socket.remotePort);
      trace(c.id, "open", peer);
      info(t.opened(c.id, peer));
    }
    admit(socket);
  },

  data(socket, chunk: Buffer) {
    const c = socket.data;
    c.received += chunk.length;
    c.seen = tick;
    trace(c.id, "data", chunk.length);
    if (!quiet) info(t.received(c.id, chunk.length, preview(chunk)));
    if (!c.outbox.send(sink(socket), chunk)) holdBack(socket);
  },

  drain(socket) {
    const c = socket.data;
    trace(c.id, "drain", c.outbox.bytes);
    c.seen = tick;
    // Bun also calls drain when nothing was held back (right after open, seen in 1.4.5): only a
    // pause made for a full outbox is ours to undo here.
    if (c.outbox.empty) return;
    if (!c.outbox.flush(sink(socket))) return holdBack(socket);
    if (c.peerEnded) socket.end();
    else if (c.paused) {
      c.paused = false;
      socket.resume();
      trace(c.id, "resume");
    }
  },

  end(socket) {
    // The peer sent its last byte (FIN) but may still be reading: finish its echo, then close.
    socket.data.peerEnded = true;
    trace(socket.data.id, "end", socket.data.outbox.bytes);
    if (socket.data.outbox.empty) socket.end();
  },

  close(socket, error) {
    const c = socket.data;
    if (c === undefined) return; // failed before open() finished
    const echoed = c.received - c.outbox.clear();
    stats.echoed += echoed;
    open.delete(socket);
    if (!quiet || tracing) {
      const reason = error ? errorReason(t, error) : c.failure;
      trace(c.id, "close", reason ?? "");
      const secs = (performance.now() - c.openedAt) / 1000;
      if (reason) info(t.closedWithError(c.id, echoed, secs, reason));
      else info(t.closed(c.id, echoed, secs));
    }
    release(socket);
  },

  error(socket, error) {
    // Also reached when a handler above throws: that ends this connection, never the server.
    const reason = errorReason(t, error);
    warn(t.connectionError(socket.data?.id ?? 0, reason));
    if (socket.data) socket.data.failure = reason;
    socket.terminate();
  },
};

/**
 * The kernel did not take all of the echo. Below --max-buffer, keep reading (drain() will flush);
 * at or above it, stop reading until drain() has emptied the outbox.
 */
function holdBack(socket: Socket<Conn>): void {
  const c = socket.data;
  if (c.outbox.broken) {
    c.failure = t.connectionLost;
    return socket.terminate(); // write() said -1; Bun may never call close() by itself
  }
  if (c.outbox.bytes < maxBuffer || c.paused) return;
  c.paused = true;
  socket.pause();
  trace(c.id, "pause", c.outbox.bytes);
}

// ---- limits: how many connections, and how long one may sit idle ------------------------------
let refused = 0; // over --max-connections, since the last warning
function refuse(socket: Socket<Conn>): void {
  socket.end();
  if (refused++ > 0) return;
  warn(t.limitReached(maxConnections));
  // One warning a second at most, however many connections knock.
  setTimeout(() => {
    if (refused > 1) warn(t.limitRefused(refused - 1, maxConnections));
    refused = 0;
  }, 1000).unref();
}

// One sweep for all connections: the hot path only stores a tick. Closed after more than
// --idle-timeout without traffic, never before.
let tick = 0;
if (idleTimeout > 0) {
  const sweepMs = Math.min(1000, (idleTimeout * 1000) / 4);
  const ticks = Math.ceil((idleTimeout * 1000) / sweepMs);
  setInterval(() => {
    tick++;
    for (const socket of open) {
      const c = socket.data;
      if (c.waiting || tick - c.seen <= ticks) continue;
      c.failure = t.idleClosed(idleTimeout);
      socket.end();
    }
  }, sweepMs).unref();
}

// ---- modes: who is served now -------------------------------------------------------------------
let current: Socket<Conn> | undefined; // once and sequential: the one client being echoed
const waiting: Socket<Conn>[] = []; // sequential: connected, not read from, in arrival order

function admit(socket: Socket<Conn>): void {
  if (mode === "concurrent") return;
  if (current === undefined) {
    current = socket;
    if (mode === "once") {
      listener.stop(); // later attempts are refused by the kernel
      info(t.onceStopsListening);
    }
  } else if (mode === "once") {
    // Accepted by the kernel before stop() took effect.
    info(t.onceRefused(socket.data.id));
    socket.end();
  } else {
    socket.pause(); // its bytes wait in the kernel, untouched, until its turn
    socket.data.waiting = true;
    waiting.push(socket);
    info(t.waiting(socket.data.id, waiting.length));
  }
}

function release(socket: Socket<Conn>): void {
  if (socket !== current) {
    const i = waiting.indexOf(socket);
    if (i >= 0) waiting.splice(i, 1);
  } else if (mode === "once") {
    finish();
  } else {
    current = waiting.shift();
    if (current !== undefined) {
      info(t.serving(current.data.id));
      current.data.waiting = false;
      current.data.seen = tick;
      current.resume();
    }
  }
  if (stopping && open.size === 0) finish();
}

let exitCode = 0; // 130 or 143 once a second signal forces the stop
function finish(): void {
  if (role) {
    // The parent adds up every worker's figures and prints one summary; it may be gone already.
    setTimeout(() => process.exit(exitCode), 1000);
    const summary = { connections: stats.connections, echoed: stats.echoed };
    try {
      process.send?.({ summary }, undefined, undefined, () => process.exit(exitCode));
    } catch {}
    return;
  }
  const secs = (performance.now() - stats.startedAt) / 1000;
  info(out.strong(t.summary(stats.connections, stats.echoed, secs)));
  process.exit(exitCode);
}

// ---- every core: --workers N runs N copies of this file (see src/workers.ts) ------------------
const label = `${mode}${workers > 1 ? `, ${t.workers(workers)}` : ""}${tlsFiles ? ", TLS" : ""}`;
if (workers > 1 && role === undefined) {
  if (reusePortWorks(host))
    await supervise({
      count: workers,
      port,
      listening: (port) => console.log(out.strong(t.listening(formatAddress(host, port), label))),
      stopping: () => process.stdout.isTTY && !quiet && console.log(),
      died: (k, pid, code, signal) => warn(t.workerDied(k, pid, t.exitedWith(code, signal))),
      failing: (k) => warn(t.workerFailing(k)),
      summary: (connections, echoed, code) => {
        const secs = (performance.now() - stats.startedAt) / 1000;
        if (connections > 0 || code === 0) info(out.strong(t.summary(connections, echoed, secs)));
        process.exit(code);
      },
    });
  warn(t.noReusePort);
}

// ---- listening, and stopping on a signal --------------------------------------------------------
const tls = tlsFiles && (await readTls(t, tlsFiles).catch((line: string) => exit(1, line, true)));
let listener: TCPSocketListener<Conn>;
try {
  const options: Bun.TCPSocketListenOptions<Conn> & ReusePort = {
    hostname: host,
    port: role?.port ?? port,
    tls,
    allowHalfOpen: true,
    reusePort: role !== undefined,
    socket: connection,
  };
  listener = Bun.listen<Conn>(options);
} catch (error) {
  exit(1, await listenErrorMessage(t, error, host, port, tls !== undefined), true);
}
// Handlers first: whoever sees the listening line may signal us at once.
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
if (role) process.on("disconnect", () => stop("SIGTERM")); // the parent is gone: so are we
trace(0, "listen", formatAddress(host, listener.port));
if (role) process.send?.({ listening: listener.port });
else console.log(out.strong(t.listening(formatAddress(host, listener.port), label)));
// With --trace every write is reported (bytes taken of bytes offered); without, the socket itself.
function sink(socket: Socket<Conn>) {
  return tracing ? tracedSink(socket, socket.data.id, trace) : socket;
}

let stopping = false;
function stop(signal: "SIGINT" | "SIGTERM"): void {
  if (stopping) {
    // Second signal: the user does not want to wait.
    exitCode = signal === "SIGINT" ? 130 : 143;
    info(t.forced(open.size));
    for (const socket of open) socket.end(); // the last close() calls finish()
    return;
  }
  stopping = true;
  if (process.stdout.isTTY && !quiet && !role) console.log(); // start below the terminal's "^C"
  listener.stop();
  for (const socket of waiting.splice(0)) socket.end(); // never served: nothing to finish
  if (open.size === 0) return finish();
  info(t.stopping(open.size));
  // Let echoes in flight finish; close them all once none has moved a byte for STOP_GRACE_MS.
  const progress = () => {
    let bytes = open.size; // a connection that closes is progress too
    for (const socket of open) bytes += socket.data.received - socket.data.outbox.bytes;
    return bytes;
  };
  let last = progress();
  setInterval(() => {
    const now = progress();
    if (now === last) {
      info(t.stalled(open.size));
      for (const socket of open) socket.end();
    }
    last = now;
  }, STOP_GRACE_MS);
}
// Last resort: a bug in one connection's code must not take the others down.
process.on("uncaughtException", (error) => warn(t.internalError(errorReason(t, error))));
