/**
 * Where each kind of line goes, and in which colour: status to stdout, warnings and errors to
 * stderr, socket events to stderr with --trace; which of them --log-level shows; and, with
 * --log-format json, each one as a JSON object whose values are codes, never the (translated)
 * words. The colour is chosen here, by the kind of line, never by reading the words.
 */
import { stylesFor } from "./colors.ts";
import { traceTo, type Trace } from "./trace.ts";
import type { LogLevel } from "../cli/values.ts";

type LogFormat = "text" | "json";

/**
 * What a line on stdout is, which decides its JSON `level`, whether --log-level shows it, and
 * its style on a terminal:
 * - `data`: one per piece read or datagram (level info), shown only at --log-level data;
 * - `info`: a connection's life or the server's state (level info), down to `connections`;
 * - `strong`: as info, bold on a terminal (the summary);
 * - `always`: shown at every level, even --quiet (the listening lines: scripts wait for them);
 * - `warn`: level warn (a refusal, a drain cut short), down to --log-level warn.
 */
type Kind = "data" | "info" | "strong" | "always" | "warn";

/** A line's words: built only when the line is printed as text. */
type Text = string | (() => string);

export interface Say {
  /**
   * An event on stdout: its text line, or with --log-format json one JSON object (time, level,
   * event, pid, worker, and `fields`: codes and numbers, never words).
   */
  event: (name: string, fields: Record<string, unknown>, text: Text, kind?: Kind) => void;
  /** A warning on stderr (level warn), as `event`. */
  warn: (name: string, fields: Record<string, unknown>, text: Text) => void;
  /** An error on stderr (level error), as `event`. */
  error: (name: string, fields: Record<string, unknown>, text: Text) => void;
  /**
   * A line that may come in bursts (a refusal), of a kind: the first of a burst is printed by
   * `first`; the next ones, for as long as they keep coming, are counted and told at most once
   * a second by `more(count)`. Counters and metrics are the caller's, and stay exact.
   */
  burst: Burst;
  /** Tells now what bursts still hold, untold (a stop: the summary comes next). */
  settle: () => void;
  /** --log-format json: what a line says is codes (a trace's details too), not words. */
  json: boolean;
  /** --log-level shows a line per piece read (worth building only then). */
  showsData: boolean;
  /** --log-level shows each connection's open and close. */
  showsConnections: boolean;
  /** A line printed on a stop signal starts below the terminal's "^C", not after it. */
  belowCaret: () => void;
  trace: Trace;
}

/** Lines shown at each --log-level: a line's rank must be at least the level's. */
const RANK: Record<LogLevel, number> = { data: 0, connections: 1, warn: 2, error: 3 };
const KIND_RANK: Record<Kind, number> = { data: 0, info: 1, strong: 1, warn: 2, always: 4 };

export function sayTo(options: {
  logLevel?: LogLevel;
  trace: boolean;
  logFormat?: LogFormat;
  /** --workers: this worker's number (K of ECHO_WORKER=K/N), carried by each JSON line. */
  worker?: number;
  /** Starts a once-a-second tick for `burst`; returns how to stop it (tests pass their own). */
  ticker?: Ticker;
}): Say {
  const out = stylesFor(process.stdout.isTTY, process.env);
  const err = stylesFor(process.stderr.isTTY, process.env);
  const json = options.logFormat === "json";
  const least = RANK[options.logLevel ?? "data"];
  const { pid } = process;
  const { worker } = options;
  const words = (text: Text) => (typeof text === "string" ? text : text());
  const record = (level: string, event: string, fields: Record<string, unknown>) =>
    // Durations to the millisecond: 0.003, not 0.003236446999999998.
    JSON.stringify(
      { time: new Date().toISOString(), level, event, pid, worker, ...fields },
      (_, v) => (Number.isInteger(v) || typeof v !== "number" ? v : Math.round(v * 1000) / 1000),
    );
  return {
    event: (name, fields, text, kind = "info") => {
      if (KIND_RANK[kind] < least) return;
      if (json) console.log(record(kind === "warn" ? "warn" : "info", name, fields));
      else
        console.log(kind === "strong" || kind === "always" ? out.strong(words(text)) : words(text));
    },
    warn: (name, fields, text) => {
      if (RANK.warn < least) return;
      console.error(json ? record("warn", name, fields) : err.warning(words(text)));
    },
    error: (name, fields, text) =>
      console.error(json ? record("error", name, fields) : err.error(words(text))),
    ...bursts(options.ticker),
    json,
    showsData: least <= RANK.data,
    showsConnections: least <= RANK.connections,
    belowCaret: () => {
      if (!json && process.stdout.isTTY && least <= RANK.connections) console.log();
    },
    trace: !options.trace
      ? () => {}
      : json
        ? (id, event, ...details) =>
            console.error(record("debug", "trace", { id: id || undefined, call: event, details }))
        : traceTo(console.error),
  };
}

/** Calls `tick` every second until the returned function is called. */
export type Ticker = (tick: () => void) => () => void;

const everySecond: Ticker = (tick) => {
  const timer = setInterval(tick, 1000);
  timer.unref(); // a burst never keeps the process alive
  return () => clearInterval(timer);
};

type Burst = (kind: string, first: () => void, more: (count: number) => void) => void;

/**
 * `Say.burst`: one burst at a time per kind; quiet again once a whole second passes without.
 * `settle` tells at once what the bursts hold (at a stop, before the summary).
 */
export function bursts(ticker: Ticker = everySecond): { burst: Burst; settle: () => void } {
  const open = new Map<string, { count: number; more: (count: number) => void }>();
  const settle = () => {
    for (const entry of open.values()) {
      if (entry.count > 0) entry.more(entry.count);
      entry.count = 0;
    }
  };
  const burst: Burst = (kind, first, more) => {
    const current = open.get(kind);
    if (current !== undefined) {
      current.count++;
      current.more = more;
      return;
    }
    first();
    const entry = { count: 0, more };
    open.set(kind, entry);
    const stop = ticker(() => {
      if (entry.count === 0) {
        stop();
        open.delete(kind);
        return;
      }
      entry.more(entry.count);
      entry.count = 0;
    });
  };
  return { burst, settle };
}

/** A line printed before exiting (help, version, usage errors): coloured only when it is an error. */
export function printExit(exit: { code: number; text: string; toStderr: boolean }): number {
  const err = stylesFor(process.stderr.isTTY, process.env);
  if (!exit.toStderr) console.log(exit.text);
  else console.error(exit.code === 0 ? exit.text : err.error(exit.text));
  return exit.code; // for the entry point to exit with
}
