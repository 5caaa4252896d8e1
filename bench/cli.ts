/**
 * The command lines of the developer tools (`bun run bench`, `bun run soak`): tables of the same
 * shape as src/cli/options.ts, read by the same parser (src/cli/command-line.ts). Their help sentences
 * are English, in the rows themselves: these are for developers.
 *
 * A usage error is one line on stderr, `error: ... (see: bun run NAME --help)`, and exit 2.
 */
import pkg from "../package.json";
import { startup, type Table, UsageError, type Values } from "../src/cli/command-line.ts";
import { printExit } from "../src/common/say.ts";

export { UsageError };

/**
 * Parses `argv` against `table`; `--help` prints `intro`, the rows and `outro` and exits 0.
 * `check` may throw UsageError for rules that span rows; `given` holds the options set on the
 * command line (not defaulted). Never returns on a usage error.
 */
export function parseTool<T extends Table, S>(
  program: string,
  table: T,
  argv: readonly string[],
  text: { intro: string; outro: string },
  check: (values: Values<T>, given: Set<keyof T>) => S,
): S {
  const settle = (values: Values<T>, _t: unknown, given: Set<keyof T>) => check(values, given);
  const started = startup(program, table, argv, {}, pkg.version, settle, () => text);
  if (started.exit) process.exit(printExit(started.exit));
  return started.settings;
}
