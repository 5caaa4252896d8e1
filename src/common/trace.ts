/**
 * `--trace`: every event of a connection's life, on stderr, with the milliseconds since start.
 * Event names are those of Bun's socket handlers (open, data, drain, end, close) and of the
 * calls the program makes (write, pause, resume), so a student can match them to the code.
 */
import type { ByteSink } from "./outbox.ts";

export type Trace = (id: number, event: string, ...details: (string | number)[]) => void;

export function traceTo(write: (line: string) => void, start = performance.now()): Trace {
  return (id, event, ...details) => {
    const ms = (performance.now() - start).toFixed(3).padStart(10);
    const who = id > 0 ? `#${id} ` : "";
    write(`${ms} ms  ${who}${event}${details.length > 0 ? " " + details.join(" ") : ""}`);
  };
}

/** A socket whose every write is traced as "write TAKEN/OFFERED". */
export function tracedSink(socket: ByteSink, id: number, trace: Trace): ByteSink {
  return {
    write(data) {
      const taken = socket.write(data);
      trace(id, "write", `${taken}/${data.length}`);
      return taken;
    },
  };
}
