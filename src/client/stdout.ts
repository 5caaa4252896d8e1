/**
 * Writing the client's echoes so that a failure is seen: console.log drops output silently on a
 * full disk (/dev/full) or a closed pipe, and a client that exits 0 then has lost echoes.
 */
import { writeSync } from "node:fs";

/** Writes all of `text` to stdout; returns the error code if it could not. */
export function writeOut(text: string): string | undefined {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(1, bytes));
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      if (code !== "EAGAIN") return code;
      Bun.sleepSync(1); // a non-blocking pipe whose reader is behind: wait for it, as a blocking one would
    }
  }
  return undefined;
}
