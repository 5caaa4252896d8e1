/**
 * One probe connection: Bun.connect with explicit write()/drain handling (write returns the bytes
 * the kernel took; the rest is written again on drain), everything received kept in order, and
 * waits that give up after a time limit. Nothing here waits forever.
 */
import type { Socket } from "bun";
import { errorCode } from "../common/errors.ts";
import { notTls } from "../common/tls.ts";

export interface Target {
  host: string;
  port: number;
  tls?: { ca?: string; insecure: boolean };
}

/** The server and the probe do not speak the same protocol: plain TCP against TLS. */
export class TlsMismatch extends Error {
  constructor(readonly serverSpeaksTls: boolean) {
    super(serverSpeaksTls ? "the server speaks TLS" : "the server does not speak TLS");
  }
}

/** Why a wait for bytes ended. */
export type Ending = "complete" | "eof" | "timeout";

const PIECE = 1 << 20; // at most this much per write() call
/** More than any check sends (10 MB): a server that sends beyond it is cut off, not stored. */
const MAX_KEPT = 32 << 20;

/**
 * The whole run's end: no wait goes past it, however the server trickles (a byte every few
 * seconds would otherwise keep every wait alive). Set by the battery (run.ts).
 */
let deadline = Infinity;
export function runUntil(at: number): void {
  deadline = at;
}
export const outOfTime = () => performance.now() >= deadline;
const leftOf = (ms: number) => Math.max(0, Math.min(ms, deadline - performance.now()));
const STALL_MS = 100; // a write that waits this long for drain, while we do not read, resumes reading

/**
 * Does a TLS handshake succeed there? Asked when a plain connection was closed or reset without
 * a byte: a TLS server built on OpenSSL (socat, openssl s_server) does that to plain text, where
 * Bun's sends an alert the checks recognise.
 */
export async function speaksTls(target: Target, limitMs: number): Promise<boolean> {
  try {
    const conn = await ProbeConn.open({ ...target, tls: { insecure: true } }, limitMs);
    conn.close();
    return true;
  } catch {
    return false;
  }
}

export class ProbeConn {
  private chunks: Uint8Array[] = [];
  /** Bytes received and not yet taken. */
  bytes = 0;
  /** Bytes received in all. */
  total = 0;
  /** The peer ended its side (FIN), or the connection is gone. */
  eof = false;
  closed = false;
  reset = false;
  /** The server sent more than MAX_KEPT: cut off. */
  flooded = false;
  private paused = false;
  private wakers: (() => void)[] = [];
  /** Slow reading: pause for `pauseMs` after every `every` bytes. */
  slow?: { every: number; pauseMs: number; since: number };
  private socket!: Socket;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  /** Connects (and, for TLS, completes the handshake) within `limitMs`; rejects with the error. */
  static async open(target: Target, limitMs: number): Promise<ProbeConn> {
    const conn = new ProbeConn();
    const handshake = Promise.withResolvers<void>();
    let abandoned = false;
    const connecting = Bun.connect({
      hostname: target.host,
      port: target.port,
      tls: target.tls && {
        ca: target.tls.ca,
        rejectUnauthorized: !target.tls.insecure,
        serverName: target.host,
      },
      socket: {
        binaryType: "uint8array",
        open(socket) {
          if (abandoned) socket.terminate();
        },
        handshake(_s, ok, error) {
          // --insecure waives the certificate check, not TLS itself.
          if (!ok && notTls(error)) handshake.reject(new TlsMismatch(false));
          else if (ok || target.tls?.insecure) handshake.resolve();
          else handshake.reject(error ?? new Error("TLS handshake failed"));
        },
        data: (_s, chunk: Uint8Array) => conn.received(chunk),
        drain: () => conn.wake(),
        end: () => {
          conn.eof = true;
          conn.wake();
        },
        close(_s, error) {
          conn.closed = conn.eof = true;
          if (errorCode(error) === "ECONNRESET") conn.reset = true;
          handshake.reject(error ?? new Error("closed"));
          conn.wake();
        },
        error() {}, // close() follows
        connectError() {}, // Bun.connect rejects too
      },
    });
    handshake.promise.catch(() => {});
    const timer = Promise.withResolvers<never>();
    const limit = setTimeout(() => timer.reject(new Error("ETIMEDOUT")), limitMs);
    try {
      conn.socket = await Promise.race([connecting, timer.promise]);
      if (target.tls) await Promise.race([handshake.promise, timer.promise]);
      return conn;
    } catch (error) {
      abandoned = true;
      conn.socket?.terminate();
      throw error;
    } finally {
      clearTimeout(limit);
    }
  }

  private received(chunk: Uint8Array): void {
    if (this.bytes + chunk.length > MAX_KEPT) {
      // A server that sends far more than it was sent: stop listening to it.
      this.flooded = true;
      return this.close();
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.total += chunk.length;
    const slow = this.slow;
    if (slow && (slow.since += chunk.length) >= slow.every) {
      // One pause per 256 KiB read, however large the pieces the runtime hands over.
      const pauses = Math.floor(slow.since / slow.every);
      slow.since %= slow.every;
      this.pause();
      this.later(pauses * slow.pauseMs, () => this.slow && this.resume());
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }

  /** Resolves on the next event (data, drain, end, close) or after `ms`; true if an event came. */
  private next(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, ms));
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private later(ms: number, f: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      f();
    }, ms);
    this.timers.add(timer);
  }

  pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.socket.pause();
  }
  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Everything received so far, as one buffer; the count starts again from 0. */
  take(): Uint8Array {
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.bytes = 0;
    return all;
  }

  /**
   * Writes all of `data`: what write() does not take is offered again after drain. Gives up when
   * the kernel takes nothing for `idleMs` (the server stopped reading). While reading is paused,
   * a write that stalls resumes it, so that a server that echoes as it reads can go on.
   */
  async write(data: Uint8Array, idleMs: number): Promise<"ok" | "closed" | "stalled"> {
    let at = 0;
    let idleSince = performance.now();
    while (at < data.length) {
      if (this.closed) return "closed";
      const offered = Math.min(PIECE, data.length - at);
      const n = this.socket.write(data.subarray(at, at + offered));
      if (n < 0) return "closed";
      if (n > 0) idleSince = performance.now();
      at += n;
      if (n === offered) continue; // all taken: the next piece
      const waited = performance.now() - idleSince;
      if (waited >= idleMs || outOfTime()) return "stalled";
      const event = await this.next(Math.min(STALL_MS, idleMs - waited));
      if (!event && this.paused && !this.slow) this.resume();
    }
    return "ok";
  }

  /**
   * Waits until `size` bytes have been received, the peer ends, or no byte comes for `idleMs`
   * (and never longer than `capMs` in all).
   */
  async until(size: number, idleMs: number, capMs = idleMs * 4): Promise<Ending> {
    const start = performance.now();
    let last = start;
    let seen = this.bytes;
    for (;;) {
      if (this.bytes >= size) return "complete";
      if (this.eof) return "eof";
      const now = performance.now();
      if (this.bytes > seen) {
        seen = this.bytes;
        last = now;
      }
      // A pause we made ourselves is not the server's silence.
      const quiet = this.paused ? 0 : now - last;
      if (quiet >= idleMs || now - start >= capMs || outOfTime()) return "timeout";
      await this.next(leftOf(Math.min(idleMs - quiet, capMs - (now - start))));
    }
  }

  /** Waits up to `ms` for the peer's end of stream. */
  async ended(ms: number): Promise<boolean> {
    const start = performance.now();
    while (!this.eof) {
      const left = leftOf(ms - (performance.now() - start));
      if (left <= 0) return false;
      await this.next(left);
    }
    return true;
  }

  /** Waits up to `ms` for quiet: returns once no byte has come for `quietMs`. */
  async settle(quietMs: number, ms: number): Promise<void> {
    const start = performance.now();
    while (!this.eof && performance.now() - start < ms && !outOfTime()) {
      if (!(await this.next(leftOf(quietMs)))) return;
    }
  }

  /** Half-close: no more bytes from us (FIN); we keep reading. */
  shutdown(): void {
    if (!this.closed) this.socket.shutdown();
  }

  /** Closes at once: nothing of this connection outlives the probe. */
  close(): void {
    this.slow = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (!this.closed) this.socket.end();
    this.closed = this.eof = true;
    this.wake();
  }
}
