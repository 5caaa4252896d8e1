/**
 * How this program was started: from source (`bun server.ts`, through `bun run server`), or as a
 * single-file executable (`bun build --compile`), whose Bun.main is a virtual path. Help and
 * errors then name the command the person actually typed.
 */
import { basename } from "node:path";

export const compiled = Bun.main.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/i.test(Bun.main);

/** What to type to run `program` again: `bun run server`, or `echo-server-linux-x64`. */
export function invocation(program: string): string {
  return compiled ? basename(process.execPath) : `bun run ${program}`;
}
