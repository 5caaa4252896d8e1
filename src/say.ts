/**
 * Where each kind of line goes, and in which colour: status to stdout (silenced by --quiet),
 * warnings and errors to stderr, socket events to stderr with --trace. The colour is chosen
 * here, by the kind of line, never by reading the (translated) words.
 */
import { stylesFor } from "./colors.ts";
import { traceTo, type Trace } from "./trace.ts";

export type LogFormat = "text" | "json";

export interface Say {
  /**
   * A status event on stdout: its text line, or with --log-format json one JSON object (time,
   * level, event, and `fields`). `always` is shown even with --quiet (the listening line);
   * `strong` is printed bold on a terminal (the summary).
   */
  event: (
    name: string,
    fields: Record<string, unknown>,
    text: () => string,
    kind?: "info" | "strong" | "always",
  ) => void;
  info: (line: string) => void;
  strong: (line: string) => void;
  /** The listening line: shown even with --quiet, since scripts wait for it. */
  always: (line: string) => void;
  warn: (line: string) => void;
  error: (line: string) => void;
  trace: Trace;
}

export function sayTo(options: { quiet: boolean; trace: boolean; logFormat?: LogFormat }): Say {
  const out = stylesFor(process.stdout.isTTY, process.env);
  const err = stylesFor(process.stderr.isTTY, process.env);
  const json = options.logFormat === "json";
  return {
    event: (name, fields, text, kind = "info") => {
      if (options.quiet && kind !== "always") return;
      if (json) {
        const record = { time: new Date().toISOString(), level: "info", event: name, ...fields };
        // Durations to the millisecond: 0.003, not 0.003236446999999998.
        console.log(
          JSON.stringify(record, (_, v) =>
            Number.isInteger(v) || typeof v !== "number" ? v : Math.round(v * 1000) / 1000,
          ),
        );
      } else console.log(kind === "info" ? text() : out.strong(text()));
    },
    info: options.quiet ? () => {} : (line) => console.log(line),
    strong: options.quiet ? () => {} : (line) => console.log(out.strong(line)),
    always: (line) => console.log(out.strong(line)),
    warn: (line) => console.error(err.warning(line)),
    error: (line) => console.error(err.error(line)),
    trace: options.trace ? traceTo(console.error) : () => {},
  };
}

/** A line printed before exiting (help, version, usage errors): coloured only when it is an error. */
export function printExit(exit: { code: number; text: string; toStderr: boolean }): void {
  if (!exit.toStderr) return console.log(exit.text);
  const err = stylesFor(process.stderr.isTTY, process.env);
  console.error(exit.code === 0 ? exit.text : err.error(exit.text));
}
