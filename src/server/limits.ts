/**
 * Limits: how many connections at once (--max-connections), and how long one may sit without
 * progress (--idle-timeout, and --drain-idle while stopping), looked at by a periodic sweep.
 */
import type { Socket } from "bun";
import type { Conn, Failure } from "./connection.ts";
import { unsentBytes } from "./kernel.ts";
import type { Messages } from "../messages/index.ts";
import type { ServerState, Voice } from "./state.ts";
import type { Mode } from "../cli/values.ts";

/** A new connection over --max-connections: closed at once, counted, told in bursts. */
export function refuse(state: ServerState, { say, t }: Voice, socket: Socket<Conn>, max: number) {
  socket.end();
  state.stats.refused.max_connections++;
  // One line a second at most, however many connections knock; quiet again once they stop.
  say.burst(
    "max_connections",
    () => say.warn("limitReached", { max }, () => t.limitReached(max)),
    (count) =>
      say.warn("refusedMore", { reason: "max_connections", count, max }, () =>
        t.limitRefused(count, max),
      ),
  );
}

/**
 * Serving, as a balancer asks: not once a stop came, nor in mode once once its client came, nor
 * while full (at --max-connections a new connection is closed at once).
 */
export function ready(state: ServerState, mode: Mode, maxConnections: number): boolean {
  const full = state.connections.size >= maxConnections;
  const onceTaken = mode === "once" && state.current !== undefined;
  return !state.stopping && !full && !onceTaken;
}

export interface SweepRule {
  limitMs: number;
  everyMs: number;
  reason: () => Failure;
  counted: "idle" | "drain";
}

/** How often a limit of `limitMs` is looked at: a quarter of it, within [25 ms, `most`]. */
export function sweepEvery(limitMs: number, most: number): number {
  return Math.max(25, Math.min(most, limitMs / 4));
}

/**
 * Ends a connection that moved no byte for `limitMs`, looked at every `everyMs`. A peer that
 * reads its echo slowly is not idle: echo leaving the outbox, or the kernel's queue shrinking,
 * counts as traffic. A last byte is stamped with the coarse clock, up to `everyMs` early: the
 * limit waits that much more, so a connection is never closed before its time (and at most
 * two looks after it). `flush` writes what a connection's outbox holds; `queueOf` asks the
 * kernel what it still holds for the peer.
 */
export function sweep(
  state: ServerState,
  rule: SweepRule,
  flush: (socket: Socket<Conn>) => void,
  queueOf: (socket: Socket<Conn>) => number | undefined = unsentBytes,
  at = performance.now(),
): void {
  const { limitMs, everyMs } = rule;
  const now = (state.now = at);
  const quiet = Math.min(250, limitMs); // only these are worth a closer look
  const idle = [...state.connections].filter(
    (s) => !s.data.waitingTurn && now - s.data.seen >= quiet,
  );
  for (const socket of idle) {
    const c = socket.data;
    const before = c.outbox?.bytes ?? 0;
    flush(socket);
    const after = c.outbox?.bytes ?? 0;
    const queued = c.unconfirmed ? queueOf(socket) : 0;
    if (queued === 0 && after === 0) c.unconfirmed = false;
    if (after < before || (queued !== undefined && queued !== (c.kernelQueue ?? 0))) c.seen = now;
    c.kernelQueue = queued;
    if (now - c.seen < limitMs + everyMs) continue;
    c.failure = rule.reason();
    c.undelivered = after + (queued ?? 0);
    if (rule.counted === "idle") state.stats.idleTimeouts++;
    // A silent client whose echo has all gone out was not cut short: it had its echo.
    else if (c.undelivered > 0) state.drainCut++;
    socket.end();
  }
}

/** --idle-timeout: a connection silent for `seconds` is closed (looked at up to once a second). */
export function startIdleSweep(
  state: ServerState,
  seconds: number,
  t: Messages,
  flush: (socket: Socket<Conn>) => void,
): void {
  const limitMs = seconds * 1000;
  const reason = () => ({ reason: "idle_timeout", text: t.idleClosed(seconds) });
  startSweep(
    state,
    { limitMs, everyMs: sweepEvery(limitMs, 1000), reason, counted: "idle" },
    flush,
  );
}

/** Sweeps every `everyMs` from now on, without keeping the process alive. */
export function startSweep(
  state: ServerState,
  rule: SweepRule,
  flush: (socket: Socket<Conn>) => void,
): void {
  setInterval(() => sweep(state, rule, flush), rule.everyMs).unref();
}
