/** The server's modes, limits and stop phases, in-process: state passed in, fake sockets. */
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { catalogs } from "../../src/messages/index.ts";
import { type Conn, newConn } from "../../src/server/connection.ts";
import { noCounters } from "../../src/server/features/http/observe.ts";
import type { Say } from "../../src/common/say.ts";
import { newServerState, type ServerState } from "../../src/server/state.ts";
import { modes } from "../../src/server/modes.ts";
import { refuse, sweep, type SweepRule } from "../../src/server/limits.ts";
import { stopping } from "../../src/server/stopping.ts";
import { DRAIN_CUT_STATUS } from "../../src/common/signals.ts";

/** A socket as the server's modules use it: what they did to it is recorded. */
interface FakeSocket {
  data: Conn;
  paused: boolean;
  ended: boolean;
  pause(): void;
  resume(): void;
  end(): void;
}

/** A connection opened on `state`, as open() does: numbered, stamped with the coarse clock. */
function open(state: ServerState, onEnd: (socket: Socket<Conn>) => void = () => {}) {
  const fake: FakeSocket = {
    data: newConn(++state.stats.connections, state.now),
    paused: false,
    ended: false,
    pause: () => void (fake.paused = true),
    resume: () => void (fake.paused = false),
    end: () => {
      if (fake.ended) return;
      fake.ended = true;
      onEnd(socket);
    },
  };
  const socket = fake as unknown as Socket<Conn>;
  state.connections.add(socket);
  return { fake, socket };
}

/** A Say that keeps the names of the events it was given. */
function recording(): { say: Say; said: string[] } {
  const said: string[] = [];
  const note = (name: string) => void said.push(name);
  const say: Say = {
    event: note,
    warn: note,
    error: note,
    burst: (_kind, first) => first(),
    json: false,
    showsData: false,
    showsConnections: false,
    belowCaret: () => {},
    settle: () => {},
    trace: () => {},
  };
  return { say, said };
}

const t = catalogs.en;

describe("modes", () => {
  /** What each waiting peer did meanwhile, as the kernel would tell (by connection id). */
  const whileWaiting = new Map<number, { ended: boolean; reset: boolean; unread: number }>();
  function setUp(mode: "once" | "sequential" | "concurrent") {
    const state = newServerState(noCounters());
    const { say, said } = recording();
    const done = { listening: true, finished: 0, replayed: [] as string[] };
    const served = modes(
      mode,
      state,
      { say, t },
      {
        stopListening: () => void (done.listening = false),
        finish: () => void done.finished++,
        replay: (_socket, bytes) => void done.replayed.push(bytes.toString()),
      },
      (socket) => whileWaiting.get(socket.data.id),
    );
    const close = (socket: Socket<Conn>) => {
      state.connections.delete(socket);
      served.release(socket);
    };
    return { state, said, done, served, close };
  }

  test("sequential: one served, the others paused in arrival order; each close serves the next", () => {
    const { state, said, served, close } = setUp("sequential");
    const [a, b, c] = [open(state), open(state), open(state)];
    for (const { socket } of [a, b, c]) served.admit(socket);
    expect(state.current).toBe(a.socket);
    expect([a.fake.paused, b.fake.paused, c.fake.paused]).toEqual([false, true, true]);
    expect(b.fake.data.waitingTurn).toBe(true);
    expect(said).toEqual(["waiting", "waiting"]);
    close(a.socket);
    expect(state.current).toBe(b.socket);
    expect(b.fake.paused).toBe(false);
    expect(b.fake.data.waitingTurn).toBe(false);
    expect(said.at(-1)).toBe("serving");
    close(c.socket); // left while waiting: never served
    close(b.socket);
    expect(state.current).toBeUndefined();
    expect(state.queue).toEqual([]);
  });

  test("sequential: bytes that came with a PROXY header while waiting are echoed at its turn", () => {
    const { state, done, served, close } = setUp("sequential");
    const [a, b] = [open(state), open(state)];
    served.admit(a.socket);
    served.admit(b.socket);
    b.fake.data.proxy = { early: [Buffer.from("early")] };
    close(a.socket);
    expect(done.replayed).toEqual(["early"]);
  });

  test("sequential: a peer that ended after sending is served; one that ended with nothing sent has gone", () => {
    const { state, said, served, close } = setUp("sequential");
    const [a, b, c] = [open(state), open(state), open(state)];
    for (const { socket } of [a, b, c]) served.admit(socket);
    whileWaiting.set(b.fake.data.id, { ended: true, reset: false, unread: 2 }); // may still read
    whileWaiting.set(c.fake.data.id, { ended: true, reset: false, unread: 0 });
    close(a.socket);
    close(b.socket);
    expect(said.slice(2)).toEqual(["serving", "gone"]);
    expect([b.fake.data.refused, c.fake.data.refused]).toEqual([undefined, true]);
  });

  test("once: the first client stops the listener; a second is refused; the first's close finishes", () => {
    const { state, said, done, served, close } = setUp("once");
    const [a, b] = [open(state), open(state)];
    served.admit(a.socket);
    expect(done.listening).toBe(false);
    served.admit(b.socket);
    expect(b.fake.ended).toBe(true);
    expect(b.fake.data.refused).toBe(true);
    expect(state.stats.refused.mode_once).toBe(1);
    expect(said).toEqual(["onceStopsListening", "refused"]);
    close(b.socket);
    expect(done.finished).toBe(0);
    close(a.socket);
    expect(done.finished).toBe(1);
  });

  test("concurrent: everyone served; while draining, the last close finishes", () => {
    const { state, done, served, close } = setUp("concurrent");
    const [a, b] = [open(state), open(state)];
    served.admit(a.socket);
    served.admit(b.socket);
    expect([a.fake.paused, b.fake.paused, state.current]).toEqual([false, false, undefined]);
    state.draining = true;
    close(a.socket);
    expect(done.finished).toBe(0);
    close(b.socket);
    expect(done.finished).toBe(1);
  });
});

describe("limits", () => {
  const idle = (limitMs: number, everyMs: number): SweepRule => ({
    limitMs,
    everyMs,
    reason: () => ({ reason: "idle_timeout", text: "idle" }),
    counted: "idle",
  });
  const noFlush = () => {};
  const emptyKernel = () => 0;

  test("a connection opened before the first tick is not idle since the process started", () => {
    const state = newServerState(noCounters());
    const opened = performance.now();
    const { fake } = open(state);
    // Not before its time: one tick short of the limit, after it was really opened.
    sweep(state, idle(100, 25), noFlush, emptyKernel, opened + 99);
    expect(fake.ended).toBe(false);
    // At most two looks after it.
    sweep(state, idle(100, 25), noFlush, emptyKernel, opened + 150);
    expect(fake.ended).toBe(true);
    expect(fake.data.failure?.reason).toBe("idle_timeout");
    expect(state.stats.idleTimeouts).toBe(1);
  });

  test("a peer reading its echo slowly (the kernel's queue shrinking) is not idle", () => {
    const state = newServerState(noCounters());
    const { fake } = open(state);
    fake.data.unconfirmed = true;
    let queued = 10_000;
    const start = state.now;
    for (let at = start + 50; at < start + 1000; at += 50) {
      queued -= 100;
      sweep(state, idle(100, 25), noFlush, () => queued, at);
    }
    expect(fake.ended).toBe(false);
    // Then the queue stops moving: idle, and what it still held is counted as undelivered.
    for (const at of [1100, 1200, 1300])
      sweep(state, idle(100, 25), noFlush, () => queued, start + at);
    expect(fake.ended).toBe(true);
    expect(fake.data.undelivered).toBe(queued);
  });

  test("a connection waiting its turn is never idle; a drain sweep marks the drain cut", () => {
    const state = newServerState(noCounters());
    const [waiting, silent] = [open(state), open(state)];
    waiting.fake.data.waitingTurn = true;
    const drain: SweepRule = { ...idle(100, 25), counted: "drain" };
    sweep(state, drain, noFlush, emptyKernel, state.now + 10_000);
    expect([waiting.fake.ended, silent.fake.ended]).toEqual([false, true]);
    // Its echo had all gone out: closed, but not cut short.
    expect(state.drainCut).toBe(0);
    expect(state.stats.idleTimeouts).toBe(0);
  });

  test("over --max-connections: closed, counted, one line for a burst", () => {
    const state = newServerState(noCounters());
    const { say, said } = recording();
    const { fake, socket } = open(state);
    refuse(state, { say, t }, socket, 1);
    expect(fake.ended).toBe(true);
    expect(state.stats.refused.max_connections).toBe(1);
    expect(said).toEqual(["limitReached"]);
  });
});

describe("stopping", () => {
  function setUp(rules: { stopDelay?: number; drainIdle?: number; drainTimeout?: number }) {
    const state = newServerState(noCounters());
    const { say, said } = recording();
    const done = { listening: true, exit: undefined as number | undefined, summaries: 0 };
    const stop = stopping(
      { stopDelay: 0, drainIdle: 0, drainTimeout: 0, ...rules },
      state,
      { say, t },
      {
        stopListening: () => void (done.listening = false),
        listensNoMore: () => false,
        flush: () => {},
        belowCaret: () => {},
        summary: async () => void done.summaries++,
        exit: (code) => void (done.exit = code),
      },
    );
    const close = (socket: Socket<Conn>) => {
      state.connections.delete(socket);
      if (state.draining && state.connections.size === 0) stop.finish();
    };
    return { state, said, done, stop, close };
  }
  const exited = async (done: { exit: number | undefined }) => {
    for (let i = 0; i < 10 && done.exit === undefined; i++) await Promise.resolve();
    return done.exit;
  };

  test("a signal with nobody connected: stop accepting, summary, exit 0", async () => {
    const { state, done, stop } = setUp({});
    stop.stop("SIGTERM");
    expect(state.stopping).toBe(true);
    expect(done.listening).toBe(false);
    expect(await exited(done)).toBe(0);
    expect(done.summaries).toBe(1);
  });

  test("drain: open connections finish on their own; clients waiting their turn are let go", async () => {
    const { state, said, done, stop, close } = setUp({});
    const serving = open(state, close);
    const waiting = open(state, close);
    state.queue.push(waiting.socket);
    stop.stop("SIGINT");
    expect(waiting.fake.ended).toBe(true);
    expect(waiting.fake.data.failure?.reason).toBe("not_served");
    expect(serving.fake.ended).toBe(false);
    expect(said).toEqual(["stopping"]);
    expect(done.exit).toBeUndefined();
    serving.fake.end();
    expect(await exited(done)).toBe(0);
  });

  test("a second signal forces: every connection cut, the signal's status", async () => {
    const { state, said, done, stop, close } = setUp({ stopDelay: 60 });
    const [a, b] = [open(state, close), open(state, close)];
    stop.stop("SIGTERM");
    expect(said).toEqual(["tellingBalancer"]); // still accepting, during the delay
    expect(done.listening).toBe(true);
    stop.stop("SIGTERM");
    expect(done.listening).toBe(false);
    expect([a.fake.ended, b.fake.ended]).toEqual([true, true]);
    expect(said).toContain("forced");
    expect(await exited(done)).toBe(143);
  });

  test.each([
    [0, 0],
    [4096, DRAIN_CUT_STATUS],
  ])(
    "a drain the idle sweep closed with %d bytes of echo still in the kernel ends with %d",
    async (stuck, status) => {
      const { state, done, stop, close } = setUp({ drainIdle: 1 });
      const { fake } = open(state, close);
      fake.data.unconfirmed = true;
      stop.stop("SIGTERM");
      const reason = () => ({ reason: "drain_idle", text: "stalled" });
      const rule: SweepRule = { limitMs: 1000, everyMs: 250, reason, counted: "drain" };
      // Looked at twice: a kernel queue that does not shrink is no progress.
      const start = state.now;
      for (const at of [2000, 4000])
        sweep(
          state,
          rule,
          () => {},
          () => stuck,
          start + at,
        );
      expect(fake.ended).toBe(true);
      expect(await exited(done)).toBe(status);
    },
  );
});
