/**
 * Everything the server changes while it runs, in one object passed to the modules that change
 * it (modes, limits, stopping): no module-level state, so each can be run in a test on its own.
 */
import type { Socket } from "bun";
import type { Conn } from "./connection.ts";
import type { Counters } from "./features/http/observe.ts";
import type { Messages } from "../messages/index.ts";
import type { Say } from "../common/say.ts";

export interface ServerState {
  connections: Set<Socket<Conn>>;
  stats: Counters & { startedAt: number };
  /**
   * A coarse clock, moved by the sweep (src/server/limits.ts): the hot path only stores it.
   * It starts at the start, not at 0: a connection accepted before the first tick is stamped
   * with a time at most one tick early, not as idle since the process started.
   */
  now: number;
  /** Once and sequential: the one client being echoed, and those waiting their turn. */
  current?: Socket<Conn>;
  queue: Socket<Conn>[];
  stopping: boolean; // a stop signal came: not ready any more
  draining: boolean; // and the listener is closed: the last connection to close ends it all
  /** Connections the drain cut short (--drain-timeout, or --drain-idle with echo undelivered). */
  drainCut: number;
  exitCode: number;
}

export function newServerState(counters: Counters): ServerState {
  const startedAt = performance.now();
  return {
    connections: new Set(),
    stats: Object.assign(counters, { startedAt }),
    now: startedAt,
    queue: [],
    stopping: false,
    draining: false,
    drainCut: 0,
    exitCode: 0,
  };
}

/** What the modules say, and in which words. */
export interface Voice {
  say: Say;
  t: Messages;
}
