/**
 * The command lines of the developer tools (`bun run bench`, `bun run soak`): a table of the same
 * shape as src/options.ts (the key is the flag, rows `{arg, default, parse, help}`), values parsed
 * by src/values.ts, errors worded by the English catalog. English only: these are for developers.
 *
 * A usage error is one line on stderr, `error: ... (see: bun run NAME --help)`, and exit 2.
 */
import { flagOf, UsageError } from "../src/command-line.ts";
import { en } from "../src/messages/en.ts";
import { BadValue } from "../src/values.ts";

export { UsageError };

interface Row {
  /** Placeholder in --help (N, SECS, LIST); absent for an on/off flag. */
  arg?: string;
  /** As typed; absent means optional (undefined when not given). */
  default?: string;
  parse?: (text: string) => unknown;
  help: string;
}
export type ToolTable = Record<string, Row>;

export type ToolValues<T extends ToolTable> = {
  -readonly [K in keyof T]: T[K] extends { parse: (text: string) => infer R }
    ? T[K] extends { default: string }
      ? R
      : R | undefined
    : boolean;
};

/** Prints the error the tools print for a bad command line, and exits 2. */
export function usageExit(program: string, message: string): never {
  process.stderr.write(`error: ${message} (see: bun run ${program} --help)\n`);
  process.exit(2);
}

/**
 * Parses `argv` against `table`; `--help` prints `intro`, the rows and `outro` and exits 0.
 * `check` may throw UsageError for rules that span rows. Never returns on a usage error.
 */
export function parseTool<T extends ToolTable, S>(
  program: string,
  table: T,
  argv: readonly string[],
  text: { intro: string; outro: string },
  check: (values: ToolValues<T>) => S,
): S {
  const byFlag = new Map(Object.keys(table).map((key) => [flagOf(key), key]));
  try {
    const given = new Map<string, string | true>();
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "-h" || arg === "--help") {
        process.stdout.write(helpOf(program, table, text) + "\n");
        process.exit(0);
      }
      const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      const key = byFlag.get(name);
      if (key === undefined)
        throw new UsageError(
          arg.startsWith("-") ? en.unknownOption(name) : en.unexpectedArgument(arg),
        );
      if (table[key]!.arg === undefined) {
        if (eq > 0) throw new UsageError(en.flagTakesNoValue(name));
        given.set(key, true);
        continue;
      }
      const next = eq > 0 ? arg.slice(eq + 1) : argv[i + 1];
      if (next === undefined || (eq < 0 && byFlag.has(next.split("=")[0]!)))
        throw new UsageError(en.missingValue(name));
      if (eq < 0) i++;
      given.set(key, next);
    }
    const values: Record<string, unknown> = {};
    for (const [key, row] of Object.entries(table)) {
      const flag = flagOf(key);
      const fromFlag = given.get(key);
      if (row.arg === undefined) {
        values[key] = fromFlag === true;
        continue;
      }
      const text = typeof fromFlag === "string" ? fromFlag : row.default;
      try {
        values[key] = text === undefined ? undefined : (row.parse ?? String)(text);
      } catch (error) {
        if (!(error instanceof BadValue)) throw error;
        throw new UsageError(en.badValue[error.problem](flag, text ?? "", error.limit ?? 0));
      }
    }
    return check(values as ToolValues<T>);
  } catch (error) {
    if (error instanceof UsageError) usageExit(program, error.message);
    throw error;
  }
}

function helpOf(program: string, table: ToolTable, text: { intro: string; outro: string }) {
  const rows = Object.entries(table).map(([key, row]) => {
    const left = `  ${flagOf(key)}${row.arg ? " " + row.arg : ""}`;
    const help = row.help + (row.default !== undefined ? ` (default ${row.default})` : "");
    const lines = help.split("\n");
    const first = left.length + 2 > 24 ? [left, ...lines.map((l) => " ".repeat(24) + l)] : [];
    return first.length
      ? first.join("\n")
      : lines.map((l, i) => (i === 0 ? left.padEnd(24) : " ".repeat(24)) + l).join("\n");
  });
  return [
    `usage: bun run ${program} [options]`,
    "",
    text.intro,
    "",
    "options:",
    ...rows,
    `  -h, --help`.padEnd(24) + "show this help",
    "",
    text.outro,
  ].join("\n");
}
