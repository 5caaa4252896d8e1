/**
 * probe --client's own echo server: every connection the client opens is served shaped (the
 * short lines a byte at a time, see src/server/features/shaping.ts) and judged by its own events;
 * what the client sends is kept, in the order it came.
 */
import type { Socket } from "bun";
import type { Messages } from "../messages/index.ts";
import { Outbox } from "../common/outbox.ts";
import { type Conn, newConn } from "../server/connection.ts";
import { Shaper, type Shaping } from "../server/features/shaping.ts";
import { MAX_KEPT } from "./client-process.ts";

/** The echo held for a client that does not read: then the probe's server stops reading. */
const MAX_HELD = 256 * 1024;

/** One connection the client opened, judged by its own events. */
class Link {
  readonly outbox = new Outbox();
  finSeen = false;
  /** When its FIN or reset came: one that came after the probe killed the client is not its own. */
  endedAt = Infinity;
  reset = false;
  closed = false;
  /** The probe's server closed its side (to see whether the client waits for that). */
  finished = false;
  constructor(
    readonly socket: Socket<Conn>,
    readonly shaper: Shaper,
  ) {}
}

/** At most this many connections are served; more are reset at once (and counted). */
export const MAX_LINKS = 16;

/**
 * The probe's own echo server: it serves every connection the client opens (each shaped, each
 * judged by its own events), and keeps everything it sends, in the order it came.
 */
export class ShapedEcho {
  /** The shaping of the line being typed: changed in place, every connection follows it. */
  readonly shape: Shaping;
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  /** Pieces written: how the echo of each line was cut. */
  pieces = 0;
  readonly links: Link[] = [];
  /** Connections beyond MAX_LINKS, reset at once. */
  refused = 0;
  /** Echo never sent back: held for a connection that ended (or stopped reading) first. */
  unechoed = 0;
  private readonly clock = { now: performance.now() };
  private readonly listener;

  constructor(
    private readonly t: Messages,
    shape: Shaping,
  ) {
    this.shape = { ...shape };
    this.listener = Bun.listen<Conn>({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: {
        binaryType: "buffer",
        open: (socket) => this.opened(socket),
        data: (socket, chunk: Buffer) => this.receive(socket, chunk),
        drain: (socket) => {
          const link = this.linkOf(socket);
          if (link) this.flush(link);
        },
        end: (socket) => this.ended(socket),
        close: (socket, error) => this.closed(socket, error),
        error: (socket) => {
          const link = this.linkOf(socket);
          if (link) link.reset = true;
        },
      },
    });
  }

  get port(): number {
    return this.listener.port;
  }

  /** The client connected to us at least once. */
  get connected(): boolean {
    return this.links.length > 0;
  }

  /** How many connections it opened. */
  get connections(): number {
    return this.links.length + this.refused;
  }

  /** Every connection has ended (or none was opened). */
  get allClosed(): boolean {
    return this.links.every((l) => l.closed);
  }

  /** Every byte received so far has been echoed. */
  get idle(): boolean {
    return this.links.every((l) => l.outbox.empty);
  }

  bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  /** What came from `offset` on (of what is kept). */
  bytesFrom(offset: number): Buffer {
    return this.bytes().subarray(offset);
  }

  /** Closes our side of every connection (a FIN), still reading what the client sends. */
  finish(): void {
    for (const link of this.links) {
      if (link.closed) continue;
      link.finished = true;
      link.shaper.stop();
      link.outbox.clear();
      link.socket.shutdown();
    }
  }

  stop(): void {
    this.listener.stop(true);
  }

  private linkOf(socket: Socket<Conn>): Link | undefined {
    return this.links.find((l) => l.socket === socket);
  }

  private opened(socket: Socket<Conn>): void {
    if (this.links.length >= MAX_LINKS) {
      this.refused++;
      // A reset, so that "the rest were reset" is what the client saw.
      return void socket.terminate();
    }
    socket.data = newConn(this.links.length + 1, performance.now());
    const shaper: Shaper = new Shaper(this.shape, socket, this.clock, this.t, {
      flush: () => this.flush(link),
    });
    const link = new Link(socket, shaper);
    shaper.inner = {
      write: (data) => {
        const n = socket.write(data);
        if (n > 0) this.pieces++;
        return n;
      },
    };
    this.links.push(link);
  }

  private receive(socket: Socket<Conn>, chunk: Buffer): void {
    const link = this.linkOf(socket);
    // After our FIN the conversation is over: what comes is not graded, nor echoed.
    if (link === undefined || link.finished) return;
    if (this.receivedBytes < MAX_KEPT) this.received.push(chunk);
    this.receivedBytes += chunk.length;
    if (!link.outbox.send(link.shaper, chunk) && link.outbox.bytes >= MAX_HELD) socket.pause();
  }

  private ended(socket: Socket<Conn>): void {
    const link = this.linkOf(socket);
    if (link === undefined) return;
    link.finSeen = true;
    link.endedAt = Math.min(link.endedAt, performance.now());
    if (link.outbox.empty) socket.end();
  }

  private closed(socket: Socket<Conn>, error: Error | undefined): void {
    const link = this.linkOf(socket);
    if (link === undefined) return;
    link.closed = true;
    link.endedAt = Math.min(link.endedAt, performance.now());
    if (error) link.reset = true;
    // Our own FIN (finish) dropped what was left on purpose: not counted.
    if (!link.finished) this.unechoed += link.outbox.bytes;
    link.shaper.stop();
    link.outbox.clear();
  }

  private flush(link: Link): void {
    if (link.closed) return;
    if (!link.outbox.flush(link.shaper)) return;
    if (link.finSeen) link.socket.end();
    else link.socket.resume();
  }
}
