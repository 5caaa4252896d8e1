/**
 * One parser for every program: reads a table of options (src/cli/options.ts), the command line and
 * the environment, and returns typed values, or a `UsageError` worded in the user's language.
 * `--help` is written from the same table, so a flag, its default and its variable cannot drift.
 *
 * A flag wins over its environment variable, which wins over the default.
 */
import pkg from "../../package.json";
import { BadValue, MODES, boolean as parseBoolean } from "./values.ts";
import { catalogs, type Lang, langFromEnv, type Messages } from "../messages/index.ts";
import { invocation } from "./self.ts";

type HelpKey = keyof Messages["optionHelp"];

interface Common {
  short?: string;
  /** Environment variable read when the flag is absent. */
  env?: string;
  /** A second, common variable, read when neither the flag nor `env` is set (PORT). */
  alsoEnv?: string;
  /**
   * A key of both catalogs' `optionHelp` (the programs); or the sentence itself, in English, for
   * the developer tools (bench, soak).
   */
  help: HelpKey | (string & {});
  /** Rows of one group follow each other in the table; --help puts its heading above them. */
  group?: keyof Messages["optionGroup"];
}
/** An option that takes a value: `--port 5000`, `--port=5000`. */
interface ValueOption<R> extends Common {
  arg: string; // placeholder shown in help: PORT, SECS...
  /** As the user would type it; shown in --help and the README. */
  default?: string;
  parse: (text: string) => R;
}
/** An option that is on or off: `--quiet`. */
interface FlagOption extends Common {
  arg?: undefined;
}
export type Option = ValueOption<unknown> | FlagOption;
export type Table = Record<string, Option>;

/** `maxConnections` is `--max-connections`: the table's key is the flag. */
export const flagOf = (key: string) => "--" + key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

export type Values<T extends Table> = {
  -readonly [K in keyof T]: T[K] extends ValueOption<infer R>
    ? T[K] extends { default: string }
      ? R
      : R | undefined
    : boolean;
};

/** A bad command line or environment variable: exit status 2, one line on stderr. */
export class UsageError extends Error {}

type Parsed<T extends Table> =
  | { action: "run"; values: Values<T>; sources: Record<keyof T, string>; given: Set<keyof T> }
  | { action: "help" }
  | { action: "version" };

/**
 * `--lang` may appear anywhere, and usage errors must already speak it: found before the rest.
 * An unknown language is reported in English, once the catalog is chosen.
 */
export function chooseLanguage(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): { lang: Lang; t: Messages; asked?: string } {
  let asked: string | undefined;
  for (const [i, arg] of argv.entries()) {
    if (arg === "--") break;
    if (arg === "--lang") asked = argv[i + 1];
    else if (arg.startsWith("--lang=")) asked = arg.slice("--lang=".length);
  }
  const l = asked?.trim().toLowerCase();
  const lang: Lang = l === "en" || l === "pt" ? l : langFromEnv(env);
  return { lang, t: catalogs[lang], asked };
}

/** Every program's table: an option given to the wrong program names the one it belongs to. */
const programs = new Map<string, Table>();
export function knownPrograms(tables: Record<string, Table>): void {
  for (const [program, table] of Object.entries(tables)) programs.set(program, table);
}

/** The other programs that take `flag` (`--mode`: the server), as they are run. */
function ownersOf(flag: string, table: Table): string[] {
  const owners: string[] = [];
  for (const [program, other] of programs)
    if (other !== table && Object.keys(other).some((key) => flagOf(key) === flag))
      owners.push(`bun run ${program}`);
  return owners;
}

export function parseCommandLine<T extends Table>(
  table: T,
  argv: readonly string[],
  env: Record<string, string | undefined>,
  t: Messages,
): Parsed<T> {
  const given = readArguments(table, argv, t);
  if (given === "help" || given === "version") return { action: given };
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const set = new Set<string>(); // given by flag or environment, not defaulted
  for (const [key, option] of Object.entries(table)) {
    const fromFlag = given.get(key);
    const { text, source, fromUser } = textOf(key, option, fromFlag, env);
    if (fromUser) set.add(key);
    sources[key] = source;
    values[key] = valueOf(option, fromFlag === true, text, source, t);
  }
  return {
    action: "run",
    values: values as Values<T>,
    sources: sources as Record<keyof T, string>,
    given: set as Set<keyof T>,
  };
}

/** The options on the command line, by key: a value's text, or true for a flag; or -h, or -v. */
function readArguments(
  table: Table,
  argv: readonly string[],
  t: Messages,
): Map<string, string | true> | "help" | "version" {
  const byFlag = new Map<string, [string, Option]>();
  for (const [key, option] of Object.entries(table)) {
    byFlag.set(flagOf(key), [key, option]);
    if (option.short) byFlag.set("-" + option.short, [key, option]);
  }
  const given = new Map<string, string | true>();
  const args = argv.values();
  // The option that took the argument just before, for a hint about a bare argument after it.
  let before: { flag: string; option: Option; value: string } | undefined;
  for (const arg of args) {
    if (arg === "-h" || arg === "--help") return "help";
    if (arg === "-v" || arg === "--version") return "version";
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const row = byFlag.get(name);
    if (row === undefined) {
      const rest = [arg, ...args];
      throw unexpected(rest, name, before, table, [...byFlag.keys()], t);
    }
    const [key, option] = row;
    before = undefined;
    if (option.arg === undefined) {
      if (eq > 0) throw new UsageError(t.flagTakesNoValue(name));
      given.set(key, true);
      continue;
    }
    // `--timeout -1` gives -1, which the parser then refuses by name; `--port --mode x` is a
    // forgotten value, not a port called "--mode".
    const next = eq > 0 ? arg.slice(eq + 1) : args.next().value;
    if (next === undefined || (eq < 0 && byFlag.has(next.split("=")[0] ?? next)))
      throw new UsageError(t.missingValue(name));
    given.set(key, next);
    before = { flag: name, option, value: next };
  }
  return given;
}

/**
 * An argument that is no option of this program's (the first of `rest`, the arguments left): the
 * program it belongs to, or a guess.
 */
function unexpected(
  [arg = "", ...after]: string[],
  name: string,
  before: { flag: string; option: Option; value: string } | undefined,
  table: Table,
  flags: string[],
  t: Messages,
): UsageError {
  if (arg.startsWith("-") && arg !== "-") {
    const owners = ownersOf(name, table);
    if (owners.length > 0) return new UsageError(t.otherProgramOption(name, owners));
    const near = closest(name, flags);
    return new UsageError(near ? t.unknownOptionNear(name, near) : t.unknownOption(name));
  }
  // `bun run server 5001`: the port, given without its flag.
  if (/^\d+$/.test(arg) && flags.includes("--port")) return new UsageError(t.portWithoutFlag(arg));
  // `bun run probe --client python3 cliente.py {port}`: the shell split the command in words, and
  // only the first became the option's value. The words up to the next option are the command's.
  if (before?.option.arg === "CMD") {
    const next = after.findIndex((word) => word.startsWith("-"));
    const words = [before.value, arg, ...(next < 0 ? after : after.slice(0, next))];
    return new UsageError(t.commandUnquoted(arg, `${before.flag} '${words.join(" ")}'`));
  }
  // `bun run server sequential`: a mode, given without its flag (--mode, or the probe's --expect).
  const modeKey = Object.keys(table).find((key) => table[key]?.arg === "MODE");
  if (modeKey !== undefined && (MODES as readonly string[]).includes(arg))
    return new UsageError(t.modeWithoutFlag(arg, flagOf(modeKey)));
  return new UsageError(t.unexpectedArgument(arg));
}

/**
 * A row's text and where it came from: its flag, else the first of its variables that is set
 * and not empty, else its default (`fromUser` false).
 */
function textOf(
  key: string,
  option: Option,
  fromFlag: string | true | undefined,
  env: Record<string, string | undefined>,
): { text: string | undefined; source: string; fromUser: boolean } {
  const flag = flagOf(key);
  if (fromFlag !== undefined)
    return { text: fromFlag === true ? undefined : fromFlag, source: flag, fromUser: true };
  for (const name of [option.env, option.alsoEnv]) {
    const text = name === undefined ? undefined : env[name];
    if (name !== undefined && text) return { text, source: name, fromUser: true };
  }
  return {
    text: option.arg === undefined ? undefined : option.default,
    source: flag,
    fromUser: false,
  };
}

/** A row's value, parsed from its text; a bad one is a UsageError that names its source. */
function valueOf(
  option: Option,
  flagged: boolean,
  text: string | undefined,
  source: string,
  t: Messages,
): unknown {
  try {
    if (option.arg === undefined) return flagged || (text !== undefined && parseBoolean(text));
    return text === undefined ? undefined : option.parse(text);
  } catch (error) {
    if (!(error instanceof BadValue)) throw error;
    throw new UsageError(t.badValue[error.problem](source, text ?? "", error.limit ?? 0));
  }
}

/**
 * The flag a typo most likely meant: one edit away (a letter wrong, missing, extra, or two
 * swapped: `--prot` is `--port`), two for long flags.
 */
function closest(typed: string, flags: string[]): string | undefined {
  let best: { flag: string; d: number } | undefined;
  for (const flag of flags) {
    if (!flag.startsWith("--")) continue;
    const d = distance(typed, flag);
    const allowed = flag.length >= 10 ? 2 : 1;
    if (d <= allowed && (best === undefined || d < best.d)) best = { flag, d };
  }
  return best?.flag;
}

/** Edit distance, a swap of two neighbours counting as one edit (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

const WIDTH = 80;
const COLUMN = 28; // where help text starts

/** `--help`: the program's introduction, then every row of its table, then its exit codes. */
function helpText(
  table: Table,
  t: Messages,
  text: { usage: string; intro: string; outro: string },
): string {
  const rows: string[] = [];
  let group: string | undefined;
  for (const [key, option] of Object.entries(table)) {
    if (option.group !== group && (group = option.group) !== undefined)
      rows.push("", t.optionGroup[group as keyof Messages["optionGroup"]]);
    const short = option.short ? `-${option.short}, ` : "    ";
    const arg = option.arg
      ? " " + (t.metavar[option.arg as keyof Messages["metavar"]] ?? option.arg)
      : "";
    const left = `  ${short}${flagOf(key)}${arg}`;
    let help: string = t.optionHelp[option.help as HelpKey] ?? option.help;
    if (option.arg !== undefined && option.default !== undefined)
      help += ` (${t.defaultWord} ${option.default})`;
    const vars = [option.env, option.alsoEnv].filter(Boolean);
    if (vars.length > 0) help += ` [${vars.join(", ")}]`;
    const lines = help.split("\n").flatMap((p) => wrap(p, WIDTH - COLUMN));
    if (left.length + 2 > COLUMN) {
      rows.push(left);
      for (const l of lines) rows.push(pad("") + l);
    } else lines.forEach((l, i) => rows.push((i === 0 ? pad(left) : pad("")) + l));
  }
  if (group !== undefined) rows.push(""); // -h and -v belong to no group
  rows.push(pad("  -h, --help") + t.optionHelp.help);
  rows.push(pad("  -v, --version") + t.optionHelp.version);
  return [text.usage, "", text.intro, "", t.optionsHeading, ...rows, "", text.outro].join("\n");
}

const pad = (s: string) => s.padEnd(COLUMN);

function wrap(paragraph: string, width: number): string[] {
  if (paragraph.length <= width) return [paragraph]; // keeps a table's own spacing
  // Continued lines start under the text: after the indent, or after a term and its two spaces
  // ("udpSIZE     UDP: ...").
  const indent = paragraph.length - paragraph.trimStart().length;
  const lead = " ".repeat(/^\s*\S+ {2,}(?=\S)/.exec(paragraph)?.[0].length ?? indent);
  const words = paragraph.trimEnd().split(/(?<=\S) (?=\S)/); // the first keeps the indent
  const out: string[] = [];
  let line = "";
  for (const word of words) {
    // A list too long for a line (a default such as pp1,pp100,...) breaks after its commas.
    const pieces = word.length > width - lead.length ? word.split(/(?<=,)/) : [word];
    pieces.forEach((piece, i) => {
      const gap = i === 0 && line.trim() !== "" ? " " : "";
      if (line.trim() !== "" && line.length + gap.length + piece.length > width) {
        out.push(line);
        line = lead + piece;
      } else line += gap + piece;
    });
  }
  out.push(line);
  return out;
}

interface Words {
  intro: string;
  outro: string;
}

/**
 * The three programs' start: their own command line and environment, the project's version.
 * What to do with an `exit` (print it, exit with its code) is the entry point's.
 */
export function startProgram<T extends Table, S>(
  program: string,
  table: T,
  settle: (values: Values<T>, t: Messages, given: Set<keyof T>) => S,
  words: (t: Messages) => Words,
): Startup<S> {
  return startup(program, table, Bun.argv.slice(2), process.env, pkg.version, settle, words);
}

/** What an entry point does with its command line: run with its settings, or print and exit. */
type Startup<S> =
  | { t: Messages; settings: S; exit?: undefined }
  | { t: Messages; exit: { code: 0 | 2; text: string; toStderr: boolean } };

/**
 * Parses a program's command line: `--help`, `--version`, a usage error (exit 2, one line), or
 * its settings. `settle` turns the values into settings, for rules that span rows (and may
 * throw UsageError).
 */
export function startup<T extends Table, S>(
  program: string,
  table: T,
  argv: readonly string[],
  env: Record<string, string | undefined>,
  version: string,
  settle: (values: Values<T>, t: Messages, given: Set<keyof T>) => S,
  /** --help's first and last words: the program's own, in the language chosen. */
  words: (t: Messages) => Words = () => ({ intro: "", outro: "" }),
): Startup<S> {
  const { t } = chooseLanguage(argv, env);
  const text = words(t);
  const command = invocation(program);
  try {
    const parsed = parseCommandLine(table, argv, env, t);
    if (parsed.action === "help")
      return {
        t,
        exit: {
          code: 0,
          text: helpText(table, t, { usage: t.usage(command), ...text }),
          toStderr: false,
        },
      };
    if (parsed.action === "version")
      return { t, exit: { code: 0, text: version, toStderr: false } };
    try {
      return { t, settings: settle(parsed.values, t, parsed.given) };
    } catch (error) {
      // A rule across options names each as the user gave it: a variable set in the
      // environment is named, not a flag that was never typed.
      if (!(error instanceof UsageError)) throw error;
      let message = error.message;
      for (const [key, source] of Object.entries(parsed.sources) as [string, string][])
        if (source !== flagOf(key))
          message = message.replace(new RegExp(`${flagOf(key)}(?![\\w-])`, "g"), source);
      throw new UsageError(message);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { t, exit: { code: 2, text: t.usageError(error.message, command), toStderr: true } };
  }
}
