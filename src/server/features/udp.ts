/**
 * `--udp`: the other half of RFC 862. "When a datagram is received, the data from it is sent back
 * in an answering datagram." No connection: no open, end or close; each datagram stands alone,
 * and may be lost, duplicated or reordered on the way (the client resends, see client.ts).
 *
 * Two things can go wrong on our side, and neither may stop the service:
 * - A sender that has left makes the kernel answer our echo with ICMP "port unreachable", which
 *   Bun 1.4.5 raises as ECONNREFUSED on the socket (a naive server dies of it): counted, ignored.
 * - send() refuses when the kernel's buffer is full: the echo waits in a queue bounded by
 *   --max-buffer and goes out on drain; past the bound the newest is dropped and counted.
 *
 * And one thing must never be echoed: a datagram whose source is itself an echo. A forged source
 * (our own port, or the port of a small service that answers every datagram: echo, chargen...)
 * turns one datagram into an endless loop between the two; an echo to ourselves even keeps Bun
 * reading forever, deaf to signals and to the health port. Such datagrams are refused and
 * counted, as FreeBSD's inetd guards its own built-in services. Another echo server on an
 * ordinary port cannot be told by its port: udp-loop-guard.ts tells it by the bounce.
 */
import type { udp } from "bun";
import { LoopGuard } from "./udp-loop-guard.ts";
import type { Messages } from "../../messages/index.ts";
import type { Say } from "../../common/say.ts";
import { formatAddress, preview } from "../../common/text.ts";
import { errorCode, listenErrorCode, listenErrorMessage } from "../../common/errors.ts";
import { hostResolves } from "../../common/net.ts";
import { onStopSignal } from "../../common/signals.ts";

/**
 * Source ports never answered: 0 (no real sender has it), and the small services of RFC 862-865,
 * 867 and 868 that answer every datagram (echo, discard, daytime, quote, chargen, time).
 */
const LOOP_PORTS: ReadonlySet<number> = new Set([0, 7, 9, 13, 17, 19, 37]);

/**
 * What a queued echo costs beyond its bytes (the Buffer, its backing store, the entry and the
 * address string): measured about 240 bytes in Bun 1.4.5. Charged to --max-buffer, so that
 * empty or tiny datagrams cannot fill memory while costing nothing.
 */
export const QUEUED_DATAGRAM_COST = 256;

/** ICMP errors of earlier echoes that one send may have to step over before it goes out. */
const MAX_STALE_ERRORS = 64;

export interface DatagramStats {
  datagrams: number;
  received: number; // bytes
  bytes: number; // echoed: handed to the kernel
  dropped: number; // echoes dropped: the queue was at --max-buffer
  unreachable: number; // ICMP port unreachable for an echo: its sender had left
  refused: number; // not echoed: from our own port or a looping service's (LOOP_PORTS), or a bounce
}

interface Pending {
  data: Buffer;
  port: number;
  address: string;
}

export class DatagramEcho {
  readonly stats: DatagramStats = {
    datagrams: 0,
    received: 0,
    bytes: 0,
    dropped: 0,
    unreachable: 0,
    refused: 0,
  };
  private sentSinceError = false; // an echo went out since the last ICMP error was counted
  /** The socket is not serving (not bound yet, or stopped): /readyz says so. */
  closed = true;
  private queue: Pending[] = [];
  private queued = 0; // what the queue costs: its bytes, and QUEUED_DATAGRAM_COST per entry
  /** The port the socket is bound to: a datagram from it is our own echo coming back. */
  ownPort = -1;
  private readonly loops = new LoopGuard();

  constructor(
    private readonly t: Messages,
    private readonly say: Say,
    private readonly options: { maxBuffer: number; trace?: boolean },
  ) {
    // With neither a log line nor a trace to write, a datagram costs no string at all.
    this.speaks = options.trace === true || say.showsData;
  }
  private readonly speaks: boolean;

  /** The handler object for Bun.udpSocket: one datagram in, the same datagram back. */
  readonly handler: udp.SocketHandler<"buffer"> = {
    data: (socket, data, port, address) => {
      this.stats.datagrams++;
      // The same port on another address is refused too: another echo (two servers on their
      // default port) would loop with us just the same; clients send from ephemeral ports.
      if (port === this.ownPort || LOOP_PORTS.has(port)) return this.refuse(port, address);
      if (this.loops.refuses(data, port, address)) return this.refuse(port, address);
      this.stats.received += data.length;
      if (this.speaks) {
        const from = formatAddress(address, port);
        this.say.trace(0, "datagram", from, data.length);
        if (this.say.showsData) {
          const size = data.length;
          const text = () => this.t.datagram(from, size, preview(data));
          this.say.event("datagram", { ip: address, port, bytes: size }, text, "data");
        }
      }
      // Bun hands each datagram its own buffer; queued, it is kept as it came.
      if (this.queue.length > 0 || !this.send(socket, data, port, address))
        this.hold({ data, port, address });
    },
    drain: (socket) => {
      this.say.trace(0, "drain", this.queued);
      for (let next = this.queue[0]; next && this.sendPending(socket, next); next = this.queue[0]) {
        this.queue.shift();
        this.queued -= next.data.length + QUEUED_DATAGRAM_COST;
      }
    },
    // Bun 1.4.5 passes the error first (its type definitions say the socket): find it either way.
    error: (...args: unknown[]) => {
      const error = args.find((a) => a instanceof Error);
      this.say.trace(0, "error", errorCode(error) ?? String(error));
      // Bun 1.4.5 reports each ICMP error twice, back to back: one is counted per echo sent
      // since the last one counted.
      if (errorCode(error) !== "ECONNREFUSED" || !this.sentSinceError) return;
      this.stats.unreachable++;
      this.sentSinceError = false;
    },
  };

  /** True when the kernel took the datagram (or refused it for good: nothing more to do). */
  private sendPending(socket: udp.Socket<"buffer">, p: Pending): boolean {
    return this.send(socket, p.data, p.port, p.address);
  }

  private send(socket: udp.Socket<"buffer">, data: Buffer, port: number, address: string): boolean {
    // An ICMP error for an earlier echo surfaces on the next send, which then did not go out:
    // each failed try consumes one such error, so try again (a bounded number of times).
    for (let tries = 0; tries < MAX_STALE_ERRORS; tries++) {
      let sent: boolean;
      try {
        sent = socket.send(data, port, address);
      } catch (error) {
        this.say.trace(0, "send", errorCode(error) ?? String(error));
        if (errorCode(error) !== "ECONNREFUSED") return true; // not ours to fix: drop this echo
        this.stats.unreachable++; // that earlier sender is gone
        continue;
      }
      if (this.options.trace)
        this.say.trace(0, "send", sent ? data.length : this.t.traceBufferFull);
      if (!sent) return false;
      this.stats.bytes += data.length;
      this.sentSinceError = true;
      return true;
    }
    return true;
  }

  private refuse(port: number, address: string): void {
    this.stats.refused++;
    const from = formatAddress(address, port);
    if (this.speaks) this.say.trace(0, "refuse", from);
    // A flood of forged datagrams is one line, then one a second with how many more.
    this.say.burst(
      "datagram_loop",
      () =>
        this.say.event(
          "refused",
          { ip: address, port, reason: "loop" },
          () => this.t.datagramLoop(from),
          "warn",
        ),
      (count) =>
        this.say.event(
          "refusedMore",
          { reason: "loop", count },
          () => this.t.datagramLoopMore(count),
          "warn",
        ),
    );
  }

  private hold(p: Pending): void {
    const cost = p.data.length + QUEUED_DATAGRAM_COST;
    if (this.queued + cost > this.options.maxBuffer) {
      this.stats.dropped++;
      this.say.trace(0, "drop", p.data.length);
      return;
    }
    this.queue.push(p);
    this.queued += cost;
    this.say.trace(0, "queue", this.queued);
  }
}

/**
 * Serves --udp until a stop signal: binds, announces, hands the echo to `serving` (for
 * /metrics), and resolves with the exit status (1 if it could not bind).
 */
export async function serveDatagrams(
  o: {
    host: string;
    port: number;
    trace: boolean;
    maxBuffer: number;
    t: Messages;
    say: Say;
    startedAt: number;
    announce: (port: number) => void;
  },
  serving: (echo: DatagramEcho) => void,
): Promise<number> {
  const { t, say } = o;
  const echo = new DatagramEcho(t, say, o);
  let socket: udp.Socket<"buffer">;
  try {
    socket = await Bun.udpSocket({
      hostname: o.host,
      port: o.port,
      binaryType: "buffer",
      socket: echo.handler,
    });
  } catch (error) {
    const resolves = await hostResolves(o.host);
    const fields = { host: o.host, port: o.port, error: listenErrorCode(error, false, resolves) };
    say.error("listenFailed", fields, () =>
      listenErrorMessage(t, error, o.host, o.port, false, resolves),
    );
    return 1;
  }
  echo.closed = false;
  echo.ownPort = socket.port;
  const stopped = Promise.withResolvers<number>();
  onStopSignal(() => {
    say.belowCaret();
    socket.close();
    echo.closed = true;
    say.settle(); // refusals a burst still held, before the summary
    const { datagrams, bytes, dropped, unreachable, refused } = echo.stats;
    const secs = (performance.now() - o.startedAt) / 1000;
    const line = () => t.udpSummary(datagrams, bytes, dropped, unreachable, refused, secs);
    say.event("stopped", { ...echo.stats, seconds: secs }, line, "strong");
    stopped.resolve(0);
  });
  say.trace(0, "listen", formatAddress(o.host, socket.port));
  serving(echo); // the health port first: whoever waits for the listening line may ask it
  o.announce(socket.port);
  return stopped.promise;
}
