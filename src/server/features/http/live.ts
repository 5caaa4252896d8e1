/**
 * The live page (GET / with --http-port): each open connection, the latest lifecycle events
 * (the --trace events), totals and bytes per second, pushed over a WebSocket.
 *
 * It costs next to nothing when nobody watches: the trace hook checks one number. While someone
 * watches, updates are coalesced: at most one snapshot every 100 ms, however many connections
 * and events there are, with at most SHOWN connections listed.
 */
import type { Trace } from "../../../common/trace.ts";

export interface LiveRow {
  id: number;
  peer: string;
  state: "echoing" | "paused" | "half-closed" | "waiting";
  in: number;
  out: number;
  age: number; // seconds
}

export interface LiveState {
  rows: LiveRow[]; // the first SHOWN connections
  open: number;
  connections: number;
  received: number;
  echoed: number;
}

export const SHOWN = 100;
const EVENTS = 40; // latest events kept
const TICK_MS = 100; // at most ten updates a second
const HISTORY = 60; // seconds of bytes per second

export class LiveView {
  private watchers = 0;
  private dirty = true;
  private events: { ms: number; id: number; event: string; detail: string }[] = [];
  private history: number[] = [];
  private lastReceived = 0;
  private readonly started = performance.now();

  constructor(
    private readonly state: () => LiveState,
    private readonly publish: (json: string) => void,
  ) {
    setInterval(() => {
      if (this.watchers === 0 || !this.dirty) return;
      this.publish(this.snapshot());
      this.dirty = false;
    }, TICK_MS).unref();
    setInterval(() => {
      const received = this.state().received;
      this.history.push(received - this.lastReceived);
      if (this.history.length > HISTORY) this.history.shift();
      this.lastReceived = received;
      this.dirty = true;
    }, 1000).unref();
  }

  /** Wraps the trace hook: events are recorded only while someone watches. */
  tap(trace: Trace): Trace {
    return (id, event, ...details) => {
      trace(id, event, ...details);
      if (this.watchers === 0) return;
      const ms = Math.round(performance.now() - this.started);
      this.events.push({ ms, id, event, detail: details.join(" ") });
      if (this.events.length > EVENTS) this.events.shift();
      this.dirty = true;
    };
  }

  /** Someone has the page open: events are worth recording. */
  get watched(): boolean {
    return this.watchers > 0;
  }

  joined(): string {
    this.watchers++;
    return this.snapshot();
  }

  left(): void {
    this.watchers = Math.max(0, this.watchers - 1);
  }

  snapshot(): string {
    return JSON.stringify({ ...this.state(), events: this.events, history: this.history });
  }
}
