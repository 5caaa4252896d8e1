/**
 * Stopping, in named phases (as in tokio's graceful-shutdown example):
 * 0. delay (--stop-delay): /readyz answers 503 at once, and the listener still accepts for that
 *    long, so that a balancer checking /readyz hears it before the port closes. Only the option
 *    decides: no request changes how a later stop behaves.
 * 1. stop accepting: the listener closes; clients still waiting their turn are let go.
 * 2. drain: a connection ends when it finishes, when it has been silent for --drain-idle, or at
 *    --drain-timeout (counted from the signal); if the drain cut any, the exit status says so.
 * 3. force: a second stop signal closes every connection at once (exit status 130, 143 or 129).
 * Then finish: the summary line, and the exit status for the entry point.
 */
import type { Socket } from "bun";
import type { Conn, Failure } from "./connection.ts";
import { unsentBytes } from "./kernel.ts";
import { DRAIN_CUT_STATUS, forcedStatus, type StopSignal } from "../common/signals.ts";
import { startSweep, sweepEvery } from "./limits.ts";
import { errorCode, errorReason, errorReasonCode } from "../common/errors.ts";
import type { ServerState, Voice } from "./state.ts";

const SWEEP_MS = 250; // how often --drain-idle is checked, at most
const INTERNAL_ERROR = 70; // EX_SOFTWARE

/**
 * An exception outside a socket handler (those end one connection, in the lifecycle's error())
 * leaves the server in a state nobody can vouch for: one line, and a status of its own for the
 * entry point to exit with (--workers restarts the worker).
 */
export function onCrash({ say, t }: Voice, exit: (code: number) => never): void {
  for (const event of ["uncaughtException", "unhandledRejection"] as const)
    process.on(event, (error: unknown) => {
      // The exception's own message (never translated) is what an operator reports.
      const detail = String((error as Error | null)?.message ?? error).split("\n")[0];
      const fields = { error: errorReasonCode(error).error ?? errorCode(error), detail };
      say.error("internalError", fields, () => t.internalError(errorReason(t, error)));
      exit(INTERNAL_ERROR);
    });
}

/** The last line: connections served and bytes echoed (by every worker, with --workers). */
export function saySummary(
  { say, t }: Voice,
  totals: { connections: number; echoed: number },
  startedAt: number,
): void {
  const secs = (performance.now() - startedAt) / 1000;
  const line = () => t.summary(totals.connections, totals.echoed, secs);
  say.event("stopped", { ...totals, seconds: secs }, line, "strong");
}

interface StopRules {
  stopDelay: number;
  drainIdle: number;
  drainTimeout: number;
}

interface StopHooks {
  /** The listener closes (and a --unix path goes, unless a newer server took it). */
  stopListening: () => void;
  /** Mode once with its client already here: nothing left to keep accepting during a delay. */
  listensNoMore: () => boolean;
  /** Writes what a connection's outbox holds (the drain's sweep). */
  flush: (socket: Socket<Conn>) => void;
  /** A line printed on a signal starts below the terminal's "^C", not after it. */
  belowCaret: () => void;
  /** Tells the summary; resolves once it is out. */
  summary: () => Promise<void>;
  /** The end, with this exit status (the entry point exits). */
  exit: (code: number) => void;
}

interface Stopping {
  /** A stop signal: the first starts the phases, a second forces. */
  stop(signal: StopSignal): void;
  /** Phase 1 at once (mode once's client left: nothing to drain but the others). */
  finish(): void;
}

export function stopping(
  rules: StopRules,
  state: ServerState,
  { say, t }: Voice,
  hooks: StopHooks,
): Stopping {
  const { connections } = state;
  /** The signal that started the stop, named in a --drain-idle close line. */
  let stoppedBy: StopSignal | undefined;

  function stop(signal: StopSignal): void {
    if (state.stopping) return force(signal);
    state.stopping = true;
    stoppedBy = signal;
    hooks.belowCaret();
    // --drain-timeout counts from the signal, whatever the phase.
    const limit = rules.drainTimeout;
    if (limit > 0) setTimeout(() => drainTimedOut(limit), limit * 1000).unref();
    const delay = rules.stopDelay;
    if (delay === 0 || hooks.listensNoMore()) return stopAccepting();
    say.event("tellingBalancer", { seconds: delay }, () => t.tellingBalancer(delay));
    setTimeout(stopAccepting, delay * 1000);
  }

  function stopAccepting(): void {
    if (state.draining) return;
    state.draining = true;
    // --drain-idle counts from here, not from each connection's last byte.
    state.now = performance.now();
    // (A later stamp stays: an echo the server itself holds back, --delay, is not silence.)
    for (const socket of connections) socket.data.seen = Math.max(socket.data.seen, state.now);
    hooks.stopListening();
    const letGo = state.queue.splice(0); // never served: nothing to finish
    if (connections.size === 0) return finish();
    const open = connections.size - letGo.length;
    if (open > 0) say.event("stopping", { open }, () => t.stopping(open));
    const notServed = { reason: "not_served", text: t.notServed };
    for (const socket of letGo) {
      socket.data.failure = notServed;
      socket.end();
    }
    const idle = rules.drainIdle;
    if (idle === 0) return;
    const reason = () => ({ reason: "drain_idle", text: t.stalled(idle, stoppedBy) });
    const everyMs = sweepEvery(idle * 1000, SWEEP_MS);
    startSweep(state, { limitMs: idle * 1000, everyMs, reason, counted: "drain" }, hooks.flush);
  }

  function drainTimedOut(limit: number): void {
    stopAccepting();
    if (connections.size === 0) return;
    state.drainCut += connections.size;
    const failure = { reason: "drain_timeout", text: t.cutAtDrainTimeout(limit) };
    cutAll("drainTimedOut", t.drainTimedOut(connections.size, limit), failure);
  }

  function force(signal: StopSignal): void {
    state.exitCode = forcedStatus(signal);
    hooks.belowCaret();
    stopAccepting(); // still in the delay? Not any more
    cutAll("forced", t.forced(connections.size), { reason: "forced", text: t.cutByForce });
  }

  /** Closes every open connection now, counting the echo that will not be delivered. */
  function cutAll(event: string, line: string, failure: Failure): void {
    if (connections.size === 0) return;
    say.event(event, { open: connections.size }, line, "warn");
    for (const socket of connections) {
      socket.data.failure ??= failure;
      socket.data.undelivered = (socket.data.outbox?.bytes ?? 0) + (unsentBytes(socket) ?? 0);
      socket.end(); // the last close() calls finish()
    }
  }

  function finish(): void {
    // Read at the end: a second signal may come while the summary goes out.
    const code = () => state.exitCode || (state.drainCut > 0 ? DRAIN_CUT_STATUS : 0);
    say.settle(); // refusals a burst still held, before the summary
    const cut = state.drainCut;
    if (cut > 0) say.warn("drainCut", { connections: cut }, () => t.drainCut(cut));
    void hooks.summary().then(() => hooks.exit(code()));
  }

  return { stop, finish };
}
