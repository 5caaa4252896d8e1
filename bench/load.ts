/**
 * The load generator's scenarios: real Bun.connect sockets against any echo server, every echoed
 * byte checked against what was sent. A mismatch throws `Corrupt` with the connection and offset.
 */
import type { Socket } from "bun";
import { Outbox } from "../src/common/outbox.ts";

export interface Target {
  host: string;
  port: number;
  /** A Unix-domain socket's path: when set, connections go there instead of host:port. */
  unix?: string;
  /** Each connection starts with a PROXY v1 header, as from a balancer (--proxy-protocol). */
  proxy?: boolean;
}

/** Bun.connect to `target`: its Unix socket, or its host and port. */
function dial<T = undefined>(
  target: Target,
  options: Omit<Bun.TCPSocketConnectOptions<T>, "hostname" | "port">,
): Promise<Socket<T>> {
  if (target.proxy) options = { ...options, socket: withProxyHeader(options.socket) };
  return target.unix !== undefined
    ? Bun.connect<T>({ ...options, unix: target.unix })
    : Bun.connect<T>({ ...options, hostname: target.host, port: target.port });
}

/** The same handler, with a PROXY v1 header written first on open (a few bytes: one write). */
function withProxyHeader<T>(handler: Bun.SocketHandler<T>): Bun.SocketHandler<T> {
  return {
    ...handler,
    open(socket) {
      socket.write(`PROXY TCP4 127.0.0.1 127.0.0.1 ${socket.localPort} ${socket.remotePort}\r\n`);
      return handler.open?.(socket);
    },
  };
}

/** Counters the runner samples for its progress line. */
export interface Live {
  ops: number;
  bytes: number;
}

export interface Measured {
  ops: number; // round trips or connections, inside the measured window
  bytes: number; // echoed bytes received inside the measured window
  seconds: number; // length of the measured window
  latencies?: Float64Array; // ms per round trip, sorted
}

export class Corrupt extends Error {
  constructor(
    readonly conn: number,
    readonly offset: number,
    detail: string,
  ) {
    super(`connection ${conn}, byte offset ${offset}: ${detail}`);
  }
}

const CONNECT_BATCH = 200; // connections opened at once: bounded, kernel backlog is 512

/**
 * Checks that `chunk` equals `expected[from..]`; returns the offset (within chunk) of the first
 * byte that differs, or -1. Buffer.compare is a memcmp: the byte loop runs only on a failure.
 */
function firstDifference(chunk: Uint8Array, expected: Uint8Array, from: number): number {
  const want = expected.subarray(from, from + chunk.length);
  if (want.length === chunk.length && Buffer.compare(chunk, want) === 0) return -1;
  for (let i = 0; i < chunk.length; i++) if (i >= want.length || chunk[i] !== want[i]) return i;
  return chunk.length;
}

/** Opens `count` connections, at most CONNECT_BATCH in flight at once. */
async function connectMany<T>(
  target: Target,
  count: number,
  data: (i: number) => T,
  socket: Bun.SocketHandler<T>,
): Promise<Socket<T>[]> {
  const sockets: Socket<T>[] = [];
  for (let i = 0; i < count; i += CONNECT_BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + CONNECT_BATCH); j++)
      batch.push(
        dial<T>(target, {
          data: data(j),
          allowHalfOpen: true,
          socket,
        }),
      );
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** Grows as needed; sorted once at the end. */
class Samples {
  private values = new Float64Array(1 << 16);
  private n = 0;
  add(ms: number): void {
    if (this.n === this.values.length) {
      if (this.n >= 1 << 23) return; // 8M samples is plenty for a p99.9
      const bigger = new Float64Array(this.n * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }
  sorted(): Float64Array {
    return this.values.slice(0, this.n).sort();
  }
}

/** The fraction of each timed run spent warming up (JIT, kernel buffers): not counted. */
const WARMUP = 0.2;

interface Clock {
  counting: boolean; // inside the measured window
  running: boolean; // before the deadline
}

/** Runs the measured window: warm-up, then `seconds` counted, then stop. */
async function window(seconds: number, clock: Clock, live: Live): Promise<number> {
  clock.running = true;
  await Bun.sleep(seconds * WARMUP * 1000);
  live.ops = 0;
  live.bytes = 0;
  clock.counting = true;
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  clock.counting = false;
  clock.running = false;
  return (performance.now() - t0) / 1000;
}

/** What a TCP scenario keeps: its clock, its first failure, and each connection's close. */
class TcpRun {
  readonly clock: Clock = { counting: false, running: false };
  failure: Error | undefined;
  private readonly finished: Promise<void>[] = [];

  /** A new connection's `done`: call it once it has closed. */
  closing(): () => void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.finished.push(promise);
    return resolve;
  }

  fail<T>(socket: Socket<T>, error: Error): void {
    this.failure ??= error;
    socket.terminate();
  }

  /** Every connection closed within `ms`? */
  closed(ms: number): Promise<boolean> {
    const all = Promise.all(this.finished).then(() => true);
    return Promise.race([all, Bun.sleep(ms).then(() => false)]);
  }

  /** Ends what is still open; throws the run's failure, if any. */
  end<T>(sockets: Socket<T>[]): void {
    for (const socket of sockets) if (socket.readyState !== -1) socket.terminate();
    if (this.failure) throw this.failure;
  }
}

// ---- ping-pong: send a message, wait for all of its echo, repeat ------------------------------
interface PingConn {
  index: number;
  message: Uint8Array;
  got: number;
  round: number;
  sentAt: number;
  outbox: Outbox;
  done: () => void;
}

export async function pingPong(
  target: Target,
  conns: number,
  size: number,
  seconds: number,
  live: Live,
): Promise<Measured> {
  const run = new TcpRun();
  const samples = new Samples();
  const sockets = await connectMany<PingConn>(
    target,
    conns,
    (index) => {
      const message = new Uint8Array(Math.max(size, 4));
      crypto.getRandomValues(message.subarray(0, Math.min(message.length, 65536)));
      return {
        index,
        message,
        got: 0,
        round: 0,
        sentAt: 0,
        outbox: new Outbox(),
        done: run.closing(),
      };
    },
    pingPongHandler(run, samples, live),
  );
  const go = window(seconds, run.clock, live);
  for (const socket of sockets) sendRound(run, socket);
  const elapsed = await go;
  const { ops, bytes } = live;
  await run.closed(5000);
  run.end(sockets);
  return { ops, bytes, seconds: elapsed, latencies: samples.sorted() };
}

/** The next message: a new first word each round, so a stale or repeated echo cannot pass. */
function sendRound(run: TcpRun, socket: Socket<PingConn>): void {
  const c = socket.data;
  new DataView(c.message.buffer).setUint32(0, ++c.round);
  c.got = 0;
  c.sentAt = performance.now();
  if (!c.outbox.send(socket, c.message) && c.outbox.broken) run.fail(socket, new Error("reset"));
}

/** Each echo checked as it comes; once whole, timed, counted, and the next round sent. */
function pingPongHandler(run: TcpRun, samples: Samples, live: Live): Bun.SocketHandler<PingConn> {
  const { clock } = run;
  return {
    binaryType: "uint8array",
    data(socket, chunk: Uint8Array) {
      const c = socket.data;
      const bad = firstDifference(chunk, c.message, c.got);
      if (bad >= 0) {
        const offset = (c.round - 1) * c.message.length + c.got + bad;
        const what = c.got + bad >= c.message.length ? "more bytes than were sent" : "differs";
        return run.fail(socket, new Corrupt(c.index, offset, what));
      }
      c.got += chunk.length;
      if (c.got < c.message.length) return;
      if (clock.counting) {
        samples.add(performance.now() - c.sentAt);
        live.ops++;
        live.bytes += c.got;
      }
      if (clock.running) sendRound(run, socket);
      else socket.end();
    },
    drain(socket) {
      socket.data.outbox.flush(socket);
    },
    end(socket) {
      if (clock.running) run.fail(socket, new Corrupt(socket.data.index, -1, "server closed"));
      else socket.end();
    },
    close(socket, error) {
      if (error && clock.running) run.failure ??= error;
      socket.data.done();
    },
    error(_socket, error) {
      run.failure ??= error;
    },
  };
}

// ---- stream: write as fast as the socket takes, read the echo, end with a half-close ----------
const PATTERN_BYTES = 1 << 20;
const pattern = (() => {
  // Twice the pattern back to back: any window of up to PATTERN_BYTES is one subarray.
  const twice = new Uint8Array(PATTERN_BYTES * 2);
  for (let i = 0; i < PATTERN_BYTES; i += 65536)
    crypto.getRandomValues(twice.subarray(i, i + 65536));
  twice.copyWithin(PATTERN_BYTES, 0, PATTERN_BYTES);
  return twice;
})();

/**
 * Checks an echoed `chunk` that should be the pattern from `start + got`, when `sent` bytes were
 * sent: the offset within chunk of the first wrong byte (or of the first byte beyond what was
 * sent), or -1 when all is exact.
 */
function patternDifference(chunk: Uint8Array, start: number, got: number, sent: number): number {
  if (got + chunk.length > sent) return Math.max(0, sent - got);
  for (let from = 0; from < chunk.length; from += PATTERN_BYTES) {
    const piece = chunk.subarray(from, from + PATTERN_BYTES);
    const bad = firstDifference(piece, pattern, (start + got + from) % PATTERN_BYTES);
    if (bad >= 0) return from + bad;
  }
  return -1;
}

interface StreamConn {
  index: number;
  start: number; // this connection's offset into the pattern
  sent: number;
  got: number;
  limit: number; // bytes to send, or Infinity until the clock stops
  shut: boolean;
  eof: boolean;
  done: () => void;
}

/**
 * `conns` connections, each writing the pattern as fast as the socket takes it, either for
 * `seconds` or for exactly `limit` bytes; then each half-closes (shutdown) and expects its
 * whole echo followed by the server's end of stream.
 */
export async function stream(
  target: Target,
  conns: number,
  seconds: number,
  limit: number,
  live: Live,
): Promise<Measured> {
  const run = new TcpRun();
  const sockets = await connectMany<StreamConn>(
    target,
    conns,
    (index) => {
      const start = (index * 7919 * 64) % PATTERN_BYTES;
      return { index, start, sent: 0, got: 0, limit, shut: false, eof: false, done: run.closing() };
    },
    streamHandler(run, live),
  );
  const t0 = performance.now();
  let elapsed = 0;
  if (limit === Infinity) {
    const go = window(seconds, run.clock, live);
    for (const socket of sockets) pump(run, socket);
    elapsed = await go;
  } else {
    run.clock.running = run.clock.counting = true;
    for (const socket of sockets) pump(run, socket);
  }
  const bound = Math.max(30_000, seconds * 10_000);
  if (!(await run.closed(bound)))
    run.failure ??= new Error(`echo not complete after ${bound / 1000} s`);
  run.end(sockets);
  if (limit !== Infinity) {
    elapsed = (performance.now() - t0) / 1000;
    return { ops: conns, bytes: live.bytes, seconds: elapsed };
  }
  return { ops: 0, bytes: live.bytes, seconds: elapsed };
}

/** Writes the pattern while the socket takes it; at the limit (or the clock's end), half-closes. */
function pump(run: TcpRun, socket: Socket<StreamConn>): void {
  const c = socket.data;
  while (!c.shut) {
    if (c.sent >= c.limit || (c.limit === Infinity && !run.clock.running)) {
      c.shut = true;
      socket.shutdown(); // half-close: the echo keeps coming
      return;
    }
    const at = (c.start + c.sent) % PATTERN_BYTES;
    const n = Math.min(PATTERN_BYTES, c.limit - c.sent);
    const took = socket.write(pattern.subarray(at, at + n));
    if (took < 0) return run.fail(socket, new Error("reset while sending"));
    c.sent += took;
    if (took < n) return; // drain() continues
  }
}

/** The echo checked against the pattern as it comes; at the close, whole and ended. */
function streamHandler(run: TcpRun, live: Live): Bun.SocketHandler<StreamConn> {
  return {
    binaryType: "uint8array",
    data(socket, chunk: Uint8Array) {
      const c = socket.data;
      const bad = patternDifference(chunk, c.start, c.got, c.sent);
      if (bad >= 0) {
        const extra = c.got + chunk.length > c.sent;
        return run.fail(
          socket,
          new Corrupt(c.index, c.got + bad, extra ? "more bytes than were sent" : "differs"),
        );
      }
      c.got += chunk.length;
      if (run.clock.counting) live.bytes += chunk.length;
    },
    drain: (socket) => pump(run, socket),
    end(socket) {
      socket.data.eof = true;
    },
    close(socket, error) {
      const c = socket.data;
      // After our shutdown() Bun reports the server's FIN as a clean close, without end().
      c.eof ||= c.shut && !error;
      if (error) run.failure ??= error;
      else if (!c.eof && !run.failure)
        run.failure = new Corrupt(c.index, c.got, "no end of stream");
      else if (c.got !== c.sent && !run.failure)
        run.failure = new Corrupt(
          c.index,
          c.got,
          `end of stream after ${c.got} of ${c.sent} bytes`,
        );
      c.done();
    },
    error(_socket, error) {
      run.failure ??= error;
    },
  };
}

// ---- connect: open, one round trip, close; `parallel` at a time --------------------------------
export async function connects(
  target: Target,
  parallel: number,
  seconds: number,
  live: Live,
): Promise<Measured> {
  const clock: Clock = { counting: false, running: false };
  const message = new Uint8Array(64);
  crypto.getRandomValues(message);
  let failure: Error | undefined;
  let next = 0;
  const once = (index: number) =>
    new Promise<void>((resolve, reject) => {
      let got = 0;
      dial(target, {
        socket: {
          binaryType: "uint8array",
          open(socket) {
            if (socket.write(message) !== message.length) reject(new Error("short write"));
          },
          data(socket, chunk: Uint8Array) {
            const bad = firstDifference(chunk, message, got);
            if (bad >= 0) return reject(new Corrupt(index, got + bad, "differs"));
            got += chunk.length;
            if (got === message.length) socket.end();
          },
          close(_socket, error) {
            if (error) reject(error);
            else if (got !== message.length)
              reject(new Corrupt(index, got, "closed before the whole echo"));
            else resolve();
          },
        },
      }).catch(reject);
    });
  const loop = async () => {
    while (clock.running && !failure) {
      try {
        await once(next++);
        if (clock.counting) live.ops++;
      } catch (error) {
        failure ??= error as Error;
      }
    }
  };
  const go = window(seconds, clock, live);
  const loops = Array.from({ length: parallel }, loop);
  const elapsed = await go;
  const ops = live.ops;
  await Promise.all(loops);
  if (failure) throw failure;
  return { ops, bytes: ops * message.length, seconds: elapsed };
}

// ---- udp: datagrams in flight on connected UDP sockets --------------------------------------
/** A datagram echoed wrong: which socket, which datagram (its sequence number), which byte. */
class DatagramCorrupt extends Corrupt {
  constructor(socket: number, seq: number, offset: number, detail: string) {
    super(socket, offset, detail);
    this.message = `socket ${socket}, datagram ${seq}, byte ${offset}: ${detail}`;
  }
}

interface DatagramsMeasured extends Measured {
  /** Datagrams sent inside the measured window whose echo never came (given up after LOST_MS). */
  lost: number;
  /** Echoes that came after they had been given up for lost, or twice. */
  late: number;
  duplicates: number;
}

/** A datagram whose echo has not come back after this long is counted lost, and replaced. */
export const LOST_MS = 250;
const RING = 1 << 16; // sequence numbers remembered per socket: far more than any window

/** One socket's datagrams: what it sends, and which of them are in flight since when. */
interface Ring {
  index: number;
  message: Buffer; // bytes 0-3: the sequence number; the rest: this socket's random bytes
  seq: number; // the last sequence number sent
  oldest: number; // no datagram before this one is in flight
  /** Per slot (seq % RING): the sequence number there, when it was sent, and its state. */
  seqs: Uint32Array;
  sentAt: Float64Array;
  state: Uint8Array; // 0 free or echoed, 1 in flight, 2 given up for lost
  inFlight: number;
  owed: number; // datagrams to send once the kernel takes them again (drain)
  socket?: Bun.udp.ConnectedSocket<"buffer">; // once open
}

/**
 * `sockets` connected UDP sockets, each keeping `depth` datagrams of `size` bytes in flight:
 * each echo is checked byte for byte (a changed or unknown datagram fails the run) and answered
 * with a new datagram. A datagram lost (no echo after LOST_MS) is counted, not a failure: UDP
 * may lose datagrams. Latency is per datagram, from its send to its echo.
 */
export async function datagrams(
  target: Target,
  sockets: number,
  depth: number,
  size: number,
  seconds: number,
  live: Live,
): Promise<DatagramsMeasured> {
  const run = new DatagramRun(Math.max(size, 4), live);
  for (let index = 0; index < sockets; index++) await run.open(target, index);
  // Every LOST_MS / 2: datagrams in flight for longer than LOST_MS are lost; send others instead.
  const sweep = setInterval(() => run.sweep(), LOST_MS / 2);
  const go = window(seconds, run.clock, live);
  run.start(depth);
  const elapsed = await go;
  const { ops, bytes } = live;
  await run.lastEchoes();
  clearInterval(sweep);
  return { ops, bytes, seconds: elapsed, ...run.close() };
}

/** A run of `datagrams`: its sockets, what is in flight on each, and what came back. */
class DatagramRun {
  readonly clock: Clock = { counting: false, running: false };
  private readonly samples = new Samples();
  private readonly conns: Ring[] = [];
  private failure: Error | undefined;
  private lost = 0;
  private late = 0;
  private duplicates = 0;

  constructor(
    private readonly size: number,
    private readonly live: Live,
  ) {}

  /** Socket `index`, connected to the target, with its own random bytes. */
  async open(target: Target, index: number): Promise<void> {
    const message = Buffer.alloc(this.size);
    crypto.getRandomValues(message.subarray(4, Math.min(this.size, 65536)));
    const ring: Ring = {
      index,
      message,
      seq: 0,
      oldest: 1,
      seqs: new Uint32Array(RING),
      sentAt: new Float64Array(RING),
      state: new Uint8Array(RING),
      inFlight: 0,
      owed: 0,
    };
    this.conns.push(ring);
    ring.socket = await Bun.udpSocket({
      binaryType: "buffer",
      connect: { hostname: target.host, port: target.port },
      socket: {
        data: (_socket, data: Buffer) => this.echoed(ring, data),
        drain: () => {
          const n = ring.owed;
          ring.owed = 0;
          if (n > 0) this.send(ring, n);
        },
        // Bun 1.4.5 passes the error first (its type definitions say the socket).
        error: (...args: unknown[]) => {
          this.failure ??= udpError(args.find((a) => a instanceof Error));
        },
      },
    });
  }

  /** Each socket's first `depth` datagrams. */
  start(depth: number): void {
    for (const c of this.conns) this.send(c, depth);
  }

  /** `n` more datagrams, numbered and marked in flight. */
  private batch(c: Ring, n: number): Buffer[] {
    // send() copies into the kernel: one buffer per datagram in a batch, rewritten each time.
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const slot = ++c.seq & (RING - 1);
      if (c.state[slot] === 1) break; // the whole ring in flight: never with sane windows
      c.seqs[slot] = c.seq;
      c.state[slot] = 1;
      c.sentAt[slot] = performance.now();
      c.inFlight++;
      const m = i === 0 ? c.message : Buffer.from(c.message);
      m.writeUInt32BE(c.seq >>> 0, 0);
      out.push(m);
    }
    return out;
  }

  /** Sends `n` more datagrams on `c`; what the kernel does not take is owed until drain. */
  private send(c: Ring, n: number): void {
    const { socket } = c;
    if (!this.clock.running || this.failure || !socket) return;
    try {
      if (n === 1) {
        const [m] = this.batch(c, 1);
        if (m && !socket.send(m)) this.unsend(c, 1);
        return;
      }
      const all = this.batch(c, n);
      const took = socket.sendMany(all);
      if (took < all.length) this.unsend(c, all.length - took);
    } catch (error) {
      this.failure ??= udpError(error);
    }
  }

  /** The last `n` datagrams of a batch did not go out: forget them, owe them. */
  private unsend(c: Ring, n: number): void {
    for (let i = 0; i < n; i++) {
      const slot = c.seq-- & (RING - 1);
      c.state[slot] = 0;
      c.inFlight--;
    }
    c.owed += n;
  }

  /** An echo: checked, counted (in flight, late, or twice), and answered with a new datagram. */
  private echoed(c: Ring, data: Buffer): void {
    const seq = this.checked(c, data);
    if (seq === undefined) return;
    const slot = seq & (RING - 1);
    const state = c.state[slot];
    c.state[slot] = 0;
    if (state === 0) this.duplicates++;
    else if (state === 2) {
      this.late++;
      this.lost--;
    } else {
      c.inFlight--;
      if (this.clock.counting) {
        this.samples.add(performance.now() - c.sentAt[slot]!);
        this.live.ops++;
        this.live.bytes += this.size;
      }
      if (c.owed === 0) this.send(c, 1);
      else c.owed++;
    }
  }

  /** An echo's sequence number, if it is one this socket sent, whole; else the run fails. */
  private checked(c: Ring, data: Buffer): number | undefined {
    const { index, message } = c;
    if (data.length !== this.size) {
      this.failure ??= new DatagramCorrupt(
        index,
        data.length >= 4 ? data.readUInt32BE(0) : -1,
        Math.min(data.length, this.size),
        `${data.length} bytes came back for ${this.size} sent`,
      );
      return undefined;
    }
    const seq = data.readUInt32BE(0);
    if (c.seqs[seq & (RING - 1)] !== seq || seq > c.seq || seq === 0) {
      this.failure ??= new DatagramCorrupt(index, seq, 0, "a datagram that was never sent");
      return undefined;
    }
    if (Buffer.compare(data.subarray(4), message.subarray(4)) !== 0) {
      let at = 4;
      while (data[at] === message[at]) at++;
      this.failure ??= new DatagramCorrupt(index, seq, at, "differs");
      return undefined;
    }
    return seq;
  }

  /** Datagrams in flight for longer than LOST_MS are lost: counted, and others sent instead. */
  sweep(): void {
    const now = performance.now();
    for (const c of this.conns) {
      let replaced = 0;
      // Oldest first; sequence numbers go out in time order, so stop at the first recent one.
      for (; c.oldest <= c.seq; c.oldest++) {
        const slot = c.oldest & (RING - 1);
        if (c.seqs[slot] !== c.oldest || c.state[slot] !== 1) continue;
        if (now - c.sentAt[slot]! < LOST_MS) break;
        c.state[slot] = 2;
        c.inFlight--;
        if (this.clock.counting) this.lost++;
        replaced++;
      }
      if (replaced > 0) this.send(c, replaced);
    }
  }

  /** The last echoes: until none is in flight, or LOST_MS more. */
  async lastEchoes(): Promise<void> {
    const until = performance.now() + LOST_MS;
    while (this.conns.some((c) => c.inFlight > 0) && performance.now() < until) await Bun.sleep(5);
  }

  /** Closes the sockets; the run's failure, or what it measured besides the window's counts. */
  close(): Omit<DatagramsMeasured, keyof Measured> & { latencies: Float64Array } {
    for (const c of this.conns) c.socket?.close();
    if (this.failure) throw this.failure;
    const { lost, late, duplicates } = this;
    return { latencies: this.samples.sorted(), lost, late, duplicates };
  }
}

function udpError(error: unknown): Error {
  const code = (error as { code?: string }).code;
  return new Error(
    code === "ECONNREFUSED" ? "nobody listening (ICMP port unreachable)" : String(error),
  );
}

// ---- idle: hold many connections after one round trip each -------------------------------------
/**
 * Opens `count` connections, one verified 64-byte round trip on each, then calls `measure` while
 * they are all open and idle; closes them and returns what `measure` returned.
 */
export async function idle<T>(
  target: Target,
  count: number,
  live: Live,
  measure: () => Promise<T>,
): Promise<T> {
  const message = new Uint8Array(64);
  crypto.getRandomValues(message);
  let failure: Error | undefined;
  const echoed: Promise<void>[] = [];
  const sockets = await connectMany<{ index: number; got: number; done: () => void }>(
    target,
    count,
    (index) => {
      const { promise, resolve: done } = Promise.withResolvers<void>();
      echoed.push(promise);
      return { index, got: 0, done };
    },
    {
      binaryType: "uint8array",
      open(socket) {
        socket.write(message);
      },
      data(socket, chunk: Uint8Array) {
        const c = socket.data;
        const bad = firstDifference(chunk, message, c.got);
        if (bad >= 0) failure ??= new Corrupt(c.index, c.got + bad, "differs");
        c.got += chunk.length;
        if (c.got >= message.length) {
          live.ops++;
          c.done();
        }
      },
      close(socket, error) {
        if (socket.data.got < message.length) {
          failure ??= error ?? new Corrupt(socket.data.index, socket.data.got, "closed early");
          socket.data.done();
        }
      },
    },
  );
  const bound = 30_000;
  const all = Promise.all(echoed).then(() => true);
  if (!(await Promise.race([all, Bun.sleep(bound).then(() => false)])))
    failure ??= new Error(`not every idle connection was echoed within ${bound / 1000} s`);
  try {
    if (failure) throw failure;
    return await measure();
  } finally {
    for (const socket of sockets) socket.end();
  }
}

// ---- soak: mixed traffic for minutes (scripts/soak.ts) ------------------------------------------
/** The soak's kinds of client; each loops on its own kind of exchange until the deadline. */
export type SoakKind = "exact" | "slow" | "reset" | "storm";

/** What the soak counts, per kind of client; `failures` by reason, for the report. */
interface SoakTally {
  /** Echoed bytes checked against what was sent, all kinds together. */
  verified: number;
  ok: Record<SoakKind, number>;
  failed: Record<SoakKind, number>;
  failures: Map<string, number>;
}

export const newTally = (): SoakTally => ({
  verified: 0,
  ok: { exact: 0, slow: 0, reset: 0, storm: 0 },
  failed: { exact: 0, slow: 0, reset: 0, storm: 0 },
  failures: new Map(),
});

const MiB = 1 << 20;
const KiB = 1024;
const STORM = 50;
const rand = (n: number) => Math.floor(Math.random() * n);

/** How slow readers read: a rate, in bytes per second, from this range. */
export const SLOW_RATE = { min: 64 * KiB, max: 512 * KiB };

interface Exchange {
  size: number;
  /** Read the echo at this many bytes per second on average: pause after each piece. */
  readRate?: number;
  /** Reset the connection (RST) once this many bytes have come back. */
  resetAfter?: number;
}

/**
 * One connection: sends `size` bytes of the pattern in random pieces, then half-closes, and
 * checks every echoed byte and the end of stream. Resolves with the bytes verified, or the
 * reason it went wrong. Bounded: gives up when nothing moves for `stallMs`.
 */
function exchange(target: Target, x: Exchange, stallMs = 30_000): Promise<string | number> {
  const one = new OneExchange(x, stallMs);
  dial(target, {
    allowHalfOpen: true,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        one.current = socket;
        one.pump(socket);
      },
      drain: (socket) => one.pump(socket),
      data: (socket, chunk: Uint8Array) => one.echoed(socket, chunk),
      close: (socket, error) => one.closed(socket, error),
      error() {}, // close() follows with the error
    },
  }).catch((error) => one.finish(undefined, `could not connect: ${error.code ?? error.message}`));
  return one.result;
}

/** The state of one `exchange`: what was sent and checked, and its watchdog. */
class OneExchange {
  private readonly start = rand(PATTERN_BYTES);
  private sent = 0;
  private got = 0;
  private shut = false;
  private outcome: string | number | undefined;
  private readonly done = Promise.withResolvers<string | number>();
  readonly result = this.done.promise;
  private moved = performance.now();
  private resumeTimer: Timer | undefined;
  current: Socket<undefined> | undefined;
  private readonly watchdog: Timer;

  constructor(
    private readonly x: Exchange,
    stallMs: number,
  ) {
    this.watchdog = setInterval(() => {
      if (performance.now() - this.moved > stallMs)
        this.finish(
          this.current,
          `no byte moved for ${stallMs / 1000} s (${this.got} of ${x.size} echoed)`,
        );
    }, 1000);
  }

  finish(socket: Socket<undefined> | undefined, result: string | number): void {
    if (this.outcome !== undefined) return;
    this.outcome = result;
    clearInterval(this.watchdog);
    clearTimeout(this.resumeTimer);
    this.done.resolve(result);
    if (socket && socket.readyState !== -1) socket.terminate();
  }

  /** The pattern in random pieces while the socket takes them; then the half-close. */
  pump(socket: Socket<undefined>): void {
    const { size } = this.x;
    while (this.sent < size) {
      const n = Math.min(1 + rand(64 * KiB), size - this.sent);
      const at = (this.start + this.sent) % PATTERN_BYTES;
      const took = socket.write(pattern.subarray(at, at + n));
      if (took < 0) return;
      if (took > 0) this.moved = performance.now();
      this.sent += took;
      if (took < n) return; // drain() continues
    }
    if (!this.shut) {
      this.shut = true;
      socket.shutdown(); // half-close: the echo keeps coming
    }
  }

  /** A piece of the echo: checked; read slowly or reset if asked. */
  echoed(socket: Socket<undefined>, chunk: Uint8Array): void {
    const { x, got, sent } = this;
    this.moved = performance.now();
    const bad = patternDifference(chunk, this.start, got, sent);
    if (bad >= 0) {
      const beyond = got + chunk.length > sent && bad === sent - got;
      return this.finish(socket, `byte ${got + bad} ${beyond ? "was never sent" : "differs"}`);
    }
    this.got += chunk.length;
    if (x.resetAfter !== undefined && this.got >= x.resetAfter)
      return this.finish(socket, this.got);
    if (x.readRate) {
      socket.pause();
      const ms = (chunk.length / x.readRate) * 1000;
      this.resumeTimer = setTimeout(() => this.outcome === undefined && socket.resume(), ms);
    }
  }

  closed(socket: Socket<undefined>, error: Error | undefined): void {
    const { got, x } = this;
    if (this.outcome !== undefined) return;
    if (error) this.finish(socket, `reset by the server after ${got} of ${x.size} bytes echoed`);
    else if (got < x.size)
      this.finish(socket, `closed by the server after ${got} of ${x.size} bytes echoed`);
    else this.finish(socket, got);
  }
}

/** `STORM` connections opened at once and closed at once; how many could not connect. */
async function storm(target: Target): Promise<number> {
  const batch = Array.from({ length: STORM }, () =>
    dial(target, {
      socket: { data() {}, error() {} },
    }).then(
      (socket) => (socket.end(), 0),
      () => 1,
    ),
  );
  return (await Promise.all(batch)).reduce((a: number, b) => a + b, 0);
}

/**
 * One soak client: loops on exchanges of its kind until `deadline` (performance.now() ms),
 * counting into `tally`. A slow reader picks its rate in SLOW_RATE and a payload of 2-6 MiB,
 * smaller near the deadline so that it ends at most a few seconds after it.
 */
export async function soakClient(
  kind: SoakKind,
  target: Target,
  deadline: number,
  tally: SoakTally,
): Promise<void> {
  const failed = (why: string) => {
    tally.failed[kind]++;
    const key = `${kind}: ${why.replace(/\d+ of \d+/, "N of M").replace(/byte \d+/, "byte N")}`;
    tally.failures.set(key, (tally.failures.get(key) ?? 0) + 1);
  };
  while (performance.now() < deadline) {
    if (kind === "storm") {
      const refused = await storm(target);
      if (refused) failed(`${refused} of ${STORM} connections refused`);
      else tally.ok.storm++;
      continue;
    }
    let x: Exchange;
    if (kind === "slow") {
      const rate = SLOW_RATE.min + rand(SLOW_RATE.max - SLOW_RATE.min);
      const left = Math.max(5, (deadline - performance.now()) / 1000);
      x = { size: Math.min(2 * MiB + rand(4 * MiB), Math.round(rate * left)), readRate: rate };
    } else if (kind === "reset") x = { size: 4 * MiB, resetAfter: rand(MiB) };
    else x = { size: 1 + rand(rand(2) ? 4096 : 2 * MiB) };
    const result = await exchange(target, x);
    if (typeof result === "string") failed(result);
    else {
      tally.ok[kind]++;
      tally.verified += result;
    }
  }
}

/** Connects once and closes: undefined when something listens at `target`, else why not. */
export async function unreachable(target: Target): Promise<string | undefined> {
  try {
    const socket = await dial(target, {
      socket: { data() {}, error() {} },
    });
    socket.end();
    return undefined;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === "ECONNREFUSED" ? "connection refused" : (code ?? String(error));
  }
}
