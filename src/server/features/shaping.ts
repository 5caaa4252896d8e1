/**
 * A shaped echo (--slice, --slice-random, --delay, --rate, --close-after, --reset-after, --seed):
 * the echo comes back later and in smaller pieces, as a real network may give it, so that a
 * client that takes one recv() for the whole echo shows its bug on loopback. As toxiproxy's
 * slicer, latency, bandwidth, limit_data and reset_peer toxics do for any TCP client.
 *
 * Built as a sink around the socket that acts as a slower kernel: each write takes at most the
 * pieces whose time has come, one socket write each (Bun sets TCP_NODELAY, so each leaves as its
 * own segment), and says it took only those. What it did not take stays in the connection's
 * outbox, where --max-buffer already bounds it and pauses reading; when the next piece is due,
 * a timer flushes the outbox again. So the stage holds no bytes of its own: every byte comes back
 * once, in order, and the FIN still goes once the outbox is empty, after the last piece.
 */
import type { Socket } from "bun";
import type { ByteSink } from "../../common/outbox.ts";
import type { Conn } from "../connection.ts";
import { unsentBytes } from "../kernel.ts";
import type { Stage } from "../stages.ts";
import type { ServerState, Voice } from "../state.ts";
import type { Messages } from "../../messages/index.ts";

export interface Shaping {
  /** Pieces of at most this many bytes (with `random`, a size drawn in 1..slice each time). */
  slice?: number;
  random: boolean;
  /** Seconds before each piece. */
  delay: number;
  /** At most this many bytes a second, per connection. */
  rate?: number;
  /** After this many bytes echoed, close (FIN) or reset (RST) the connection. */
  closeAfter?: number;
  resetAfter?: number;
  /** Where the random sizes start (with `random` only): the same seed, the same sizes. */
  seed?: number;
}

type ShapingValues = {
  slice?: number;
  sliceRandom: boolean;
  delay?: number;
  rate?: number;
  closeAfter?: number;
  resetAfter?: number;
  seed?: number;
};

/** The shaping asked for, or undefined when no option of it is on. */
export function shapingOf(values: ShapingValues): Shaping | undefined {
  const { slice, sliceRandom, delay, rate, closeAfter, resetAfter } = values;
  // --delay 0 and --rate 0 ask for nothing: alone, the echo is not shaped.
  const on = [slice, delay || undefined, rate, closeAfter, resetAfter].some((v) => v !== undefined);
  if (!on) return undefined;
  // Drawn when not given, and shown in the listening line: a run can be repeated.
  const seed = sliceRandom ? (values.seed ?? Math.floor(Math.random() * 2 ** 31) + 1) : undefined;
  return { slice, random: sliceRandom, delay: delay ?? 0, rate, closeAfter, resetAfter, seed };
}

/** The options as typed again, for the listening line: enough to run the same shaping again. */
export function shapingFlags(s: Shaping): string {
  const flags = [
    s.slice !== undefined && `--slice ${s.slice}`,
    s.random && "--slice-random",
    s.delay > 0 && `--delay ${s.delay}`,
    s.rate !== undefined && `--rate ${s.rate}`,
    s.closeAfter !== undefined && `--close-after ${s.closeAfter}`,
    s.resetAfter !== undefined && `--reset-after ${s.resetAfter}`,
    s.random && `--seed ${s.seed}`,
  ];
  return flags.filter(Boolean).join(" ");
}

/** With --rate alone, a piece is a tenth of a second's worth: the pace stays even. */
const RATE_PIECES_PER_SECOND = 10;
/** --reset-after: how long the RST waits for the kernel to have sent the last byte, at most. */
const RESET_WAIT_MS = 1000;

/** Numbers in [0, 1) from a 32-bit seed (mulberry32): small, fast, the same on every machine. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Hooks {
  /** Writes what the connection's outbox holds: called when the next piece is due. */
  flush: (socket: Socket<Conn>) => void;
  /** The clock; a test may pass its own. */
  now?: () => number;
}

/** One connection's pace: a sink that takes only the pieces whose time has come. */
/** Pieces written in one go before the other connections get a turn. */
export const PIECES_PER_TURN = 256;

export class Shaper implements ByteSink {
  inner: ByteSink;
  /** Bytes echoed so far (for --close-after and --reset-after). */
  private sent = 0;
  /** The earliest time the next piece may go. */
  private nextAt = -Infinity;
  /** The last write left bytes behind: the next one continues that echo, it does not start one. */
  private busy = false;
  /** Bytes of the current piece the kernel did not take: they go first, when it takes more. */
  private rest = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  private random: (() => number) | undefined;
  private readonly limit: number;
  private readonly now: () => number;

  /**
   * `shape` is read at each piece: the client probe changes it between lines. `clock.now` is
   * the server's coarse clock, stamped on the connection when a piece goes (not idle).
   */
  constructor(
    private readonly shape: Shaping,
    private readonly socket: Socket<Conn>,
    private readonly clock: { now: number },
    private readonly t: Messages,
    private readonly hooks: Hooks,
  ) {
    this.inner = socket;
    this.random = shape.random ? seeded(shape.seed ?? 1) : undefined;
    this.limit = shape.closeAfter ?? shape.resetAfter ?? Infinity;
    this.now = hooks.now ?? (() => performance.now());
  }

  private get delayMs(): number {
    return this.shape.delay * 1000;
  }

  write(data: Uint8Array): number {
    if (this.ended) return 0;
    let now = this.now();
    // A new echo waits its delay too; a continued one keeps the pace it had.
    if (!this.busy) this.nextAt = Math.max(this.nextAt, now + this.delayMs);
    let [taken, pieces] = [0, 0];
    while (taken < data.length) {
      let size = this.rest;
      if (size === 0) {
        if (now < this.nextAt) {
          this.wake(this.nextAt - now);
          break;
        }
        // One write per piece: without a delay, give the other connections their turn now and
        // then (--slice 1 would otherwise hold the event loop for a whole echo).
        if (++pieces > PIECES_PER_TURN) {
          this.wake(0);
          break;
        }
        size = Math.min(this.pieceSize(), this.limit - this.sent);
      }
      size = Math.min(size, data.length - taken);
      const written = this.inner.write(data.subarray(taken, taken + size));
      if (written < 0) return taken > 0 ? taken : written;
      taken += written;
      this.sent += written;
      this.rest = size - written;
      if (this.rest > 0) break; // the kernel is full: drain() flushes again
      now = this.now();
      this.nextAt = now + Math.max(this.delayMs, this.rateMs(size));
      if (this.sent >= this.limit) {
        this.end();
        break;
      }
    }
    this.busy = taken < data.length;
    if (taken > 0) this.socket.data.seen = this.clock.now;
    return taken;
  }

  /** The connection closed: no timer left behind. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ended = true;
  }

  private pieceSize(): number {
    const { slice, rate } = this.shape;
    // With --rate, never more than a tenth of a second's worth at once, whatever --slice says.
    const paced =
      rate === undefined ? Infinity : Math.max(1, Math.ceil(rate / RATE_PIECES_PER_SECOND));
    if (slice === undefined) return paced;
    const random = this.shape.random ? (this.random ??= seeded(this.shape.seed ?? 1)) : undefined;
    return Math.min(paced, random ? 1 + Math.floor(random() * slice) : slice);
  }

  private rateMs(bytes: number): number {
    const rate = this.shape.rate;
    return rate === undefined ? 0 : (bytes * 1000) / rate;
  }

  private wake(ms: number): void {
    // The server itself holds this echo back: the connection is not idle until it has gone
    // (--idle-timeout and a stop's --drain-idle count from the piece, not from now).
    const c = this.socket.data;
    c.seen = Math.max(c.seen, this.clock.now + ms);
    if (this.timer !== undefined) return; // due no later than the next piece
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.hooks.flush(this.socket);
    }, ms);
  }

  /**
   * --close-after / --reset-after reached: nothing more is echoed. Out of the write that got
   * there (the outbox is still counting it), the connection ends: a FIN, or once the kernel sent
   * the last byte (a reset drops what it still holds), an RST.
   */
  private end(): void {
    this.ended = true;
    const { socket, shape } = this;
    const t = this.t;
    const c = socket.data;
    if (shape.closeAfter !== undefined) {
      c.failure = { reason: "close_after", text: t.closedAfter(shape.closeAfter) };
      setTimeout(() => {
        socket.shutdown();
        socket.end();
      }, 0);
      return;
    }
    c.failure = { reason: "reset_after", text: t.resetAfter(this.limit) };
    const giveUpAt = this.now() + RESET_WAIT_MS;
    const reset = () => {
      const queued = unsentBytes(socket);
      if (queued && this.now() < giveUpAt) setTimeout(reset, 5);
      else socket.terminate();
    };
    setTimeout(reset, 0);
  }
}

/** The stage: present only when a shaping option is on. */
export function shaping(
  shape: Shaping | undefined,
  state: ServerState,
  { t }: Voice,
  flush: (socket: Socket<Conn>) => void,
): Stage | undefined {
  if (shape === undefined) return undefined;
  return {
    sink(socket, inner) {
      const shaper = (socket.data.shaper ??= new Shaper(shape, socket, state, t, { flush }));
      shaper.inner = inner;
      return shaper;
    },
    close(socket) {
      socket.data.shaper?.stop();
    },
  };
}
