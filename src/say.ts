/**
 * Where each kind of line goes, and in which colour: status to stdout (silenced by --quiet),
 * warnings and errors to stderr, socket events to stderr with --trace. The colour is chosen
 * here, by the kind of line, never by reading the (translated) words.
 */
import { stylesFor } from "./colors.ts";
import { traceTo, type Trace } from "./trace.ts";

export interface Say {
  info: (line: string) => void;
  strong: (line: string) => void;
  /** The listening line: shown even with --quiet, since scripts wait for it. */
  always: (line: string) => void;
  warn: (line: string) => void;
  error: (line: string) => void;
  trace: Trace;
}

export function sayTo(options: { quiet: boolean; trace: boolean }): Say {
  const out = stylesFor(process.stdout.isTTY, process.env);
  const err = stylesFor(process.stderr.isTTY, process.env);
  return {
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
