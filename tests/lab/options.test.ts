/**
 * Every option is one row of src/cli/options.ts; `--help` is written from the rows and the tables of
 * docs/options.md by hand. These tests hold all three to the rows: each flag, its default and its
 * environment variable, in both languages' --help and in docs/options.md. And the one parser that
 * reads the rows: flag over environment over default, and every way a command line goes wrong.
 */
import { describe, expect, test } from "bun:test";
import {
  flagOf,
  type Option,
  parseCommandLine,
  startup,
  type Table,
  UsageError,
} from "../../src/cli/command-line.ts";
import {
  clientOptions,
  probeOptions,
  serverOptions,
  serverSettings,
} from "../../src/cli/options.ts";
import { catalogs, type Lang } from "../../src/messages/index.ts";
import { ROOT, run } from "../helpers.ts";

const programs = [
  { name: "server", script: "server.ts", table: serverOptions as Table },
  { name: "client", script: "client.ts", table: clientOptions as Table },
  { name: "probe", script: "probe.ts", table: probeOptions as Table },
] as const;
const LANGS: Lang[] = ["en", "pt"];

/** Flags every program has without a row: the parser answers them itself. */
const BUILT_IN = ["--help", "-h", "--version", "-v"];

// ---- --help -------------------------------------------------------------------------------------
/** --help's option list, one entry per flag, its wrapped lines joined by single spaces. */
function helpEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of help.split("\n")) {
    const start = /^ {2}(?:-\w, | {4})(--[a-z-]+)/.exec(line);
    if (start) entries.set((current = start[1]!), line.trim());
    else if (current !== undefined && /^ {20,}\S/.test(line))
      entries.set(current, `${entries.get(current)} ${line.trim()}`);
    else current = undefined;
  }
  return entries;
}

/** The variables a row reads, as --help and docs/options.md list them: `ECHO_PORT, PORT`. */
const envOf = (option: Option) =>
  [option.env, option.alsoEnv].filter(Boolean).join(", ") || undefined;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("--help is written from the rows, in both languages", () => {
  test.each(programs.flatMap((program) => LANGS.map((lang) => ({ ...program, lang }))))(
    "$name --help --lang $lang: every row's flag, default and variable",
    async ({ script, table, lang }) => {
      const t = catalogs[lang];
      const child = run(script, ["--help", "--lang", lang]);
      expect(await child.exited).toBe(0);
      expect(child.out.all.filter((line) => line.length > 80)).toEqual([]); // a terminal's width
      const entries = helpEntries(child.out.text);
      const rows = Object.entries(table);
      expect([...entries.keys()].sort()).toEqual(
        [...rows.map(([key]) => flagOf(key)), "--help", "--version"].sort(),
      );
      const shown = rows.map(([key]) => {
        const flag = flagOf(key);
        const entry = entries.get(flag) ?? "";
        return {
          flag,
          short: /^-(\w),/.exec(entry)?.[1],
          default: new RegExp(`\\(${escape(t.defaultWord)} (\\S+)\\)`).exec(entry)?.[1],
          env: /\[([A-Z_, ]+)\]$/.exec(entry)?.[1],
        };
      });
      expect(shown).toEqual(
        rows.map(([key, option]) => ({
          flag: flagOf(key),
          short: option.short,
          default: option.arg !== undefined ? option.default : undefined,
          env: envOf(option),
        })),
      );
    },
  );

  test("--expect once says what the rule judges: a second client never served, not the handshake", async () => {
    const [en, pt] = await Promise.all(
      LANGS.map(async (lang) => {
        const child = run("probe.ts", ["--help", "--lang", lang]);
        await child.exited;
        return helpEntries(child.out.text).get("--expect");
      }),
    );
    expect(en).toContain(
      "a second client must never be served: refused, or reset once the first leaves",
    );
    expect(pt).toContain(
      "um segundo cliente nunca deve ser atendido: é recusado, ou interrompido com um reset quando o primeiro sai",
    );
  });

  test("the words around a default: `default X` and `padrão: X`", () => {
    expect(catalogs.en.defaultWord).toBe("default");
    expect(catalogs.pt.defaultWord).toBe("padrão:");
  });
});

// ---- docs/options.md's tables---------------------------------------------------------------------
const OPTIONS_DOC = await Bun.file(`${ROOT}/docs/options.md`).text();

interface ReadmeRow {
  option: string;
  default: string;
  environment: string;
}

/** The table right after `Server (\`bun run server --help\`):`, one object per row. */
function readmeTable(program: string): ReadmeRow[] {
  const heading = `(\`bun run ${program} --help\`):`;
  const at = OPTIONS_DOC.indexOf(heading);
  expect(at).toBeGreaterThan(0);
  const lines = OPTIONS_DOC.slice(at + heading.length)
    .trimStart()
    .split("\n");
  const table = lines.slice(
    0,
    lines.findIndex((line) => !line.startsWith("|")),
  );
  const cells = table.map((line) =>
    line
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim()),
  );
  expect(cells[0]).toEqual(["option", "default", "environment", "meaning"]);
  return cells.slice(2).map(([option, def, environment]) => ({
    option: option!,
    default: def!,
    environment: environment!,
  }));
}

/** The flags a table cell names: `--host HOST` names --host; `--quiet`, `-q` names both. */
const flagsIn = (cell: string) => [...cell.matchAll(/`(--?[a-z][a-z-]*)/g)].map((m) => m[1]!);

/** A default cell: a value as typed (`256k`), `off` for a flag, or words (empty, "from LANG"). */
const defaultIn = (cell: string) =>
  /^`[^`]*`$/.test(cell) || cell === "off" ? cell : "no single value";

describe("docs/options.md's option tables agree with the rows", () => {
  test.each(programs)(
    "$name: a row in docs/options.md for every option, with its default and its variable",
    ({ name, table }) => {
      const rows = Object.entries(table);
      const readme = readmeTable(name);
      const expected = rows.map(([key, option]) => {
        const flag = flagOf(key);
        const short = option.short ? `, \`-${option.short}\`` : "";
        return {
          option: `\`${flag}${option.arg ? " " + option.arg : ""}\`${short}`,
          default:
            option.arg === undefined
              ? "off"
              : option.default !== undefined
                ? `\`${option.default}\``
                : "no single value",
          environment: envOf(option) ?? "",
        };
      });
      const shown = rows.map(([key]) => {
        const row = readme.find((r) => flagsIn(r.option).includes(flagOf(key)));
        if (row === undefined) return `no row of docs/options.md names ${flagOf(key)}`;
        return {
          option: row.option,
          default: defaultIn(row.default),
          // `ECHO_QUIET=1` names ECHO_QUIET and the value that switches it on.
          environment: [...row.environment.matchAll(/`([A-Z_]+)(?:=[^`]*)?`/g)]
            .map((m) => m[1])
            .join(", "),
        };
      });
      expect(shown).toEqual(expected);
    },
  );

  test.each(programs)(
    "$name: docs/options.md names no flag the rows lack, and each flag once",
    ({ name, table }) => {
      const known = new Set(BUILT_IN);
      for (const [key, option] of Object.entries(table)) {
        known.add(flagOf(key));
        if (option.short) known.add(`-${option.short}`);
      }
      const named = readmeTable(name).flatMap((row) => flagsIn(row.option));
      expect(named.filter((flag) => !known.has(flag))).toEqual([]);
      expect(named.filter((flag, i) => named.indexOf(flag) !== i)).toEqual([]);
    },
  );

  test("flags win over environment variables, which win over the defaults (as said)", () => {
    expect(OPTIONS_DOC).toContain(
      "Flags win over environment variables, which win over the defaults.",
    );
  });
});

// ---- the parser ---------------------------------------------------------------------------------
const en = catalogs.en;

/** The usage error a command line gets, or undefined if it parses. */
function problem(
  table: Table,
  argv: string[],
  env: Record<string, string> = {},
  t = en,
): string | undefined {
  try {
    parseCommandLine(table, argv, env, t);
    return undefined;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return error.message;
  }
}

function values<T extends Table>(table: T, argv: string[], env: Record<string, string> = {}) {
  const parsed = parseCommandLine(table, argv, env, en);
  if (parsed.action !== "run") throw new Error(`not a run: ${parsed.action}`);
  return parsed;
}

describe("parseCommandLine", () => {
  test("a flag beats its environment variable, which beats the default", () => {
    const flag = values(serverOptions, ["--port", "7000"], { ECHO_PORT: "6000" });
    expect([flag.values.port, flag.sources.port]).toEqual([7000, "--port"]);
    const env = values(serverOptions, [], { ECHO_PORT: "6000" });
    expect([env.values.port, env.sources.port]).toEqual([6000, "ECHO_PORT"]);
    const neither = values(serverOptions, []);
    expect([neither.values.port, neither.sources.port]).toEqual([5000, "--port"]);
    // An empty variable is no variable: `ECHO_PORT= bun run server` gets the default.
    expect(values(serverOptions, [], { ECHO_PORT: "" }).values.port).toBe(5000);
    // A bad variable does not matter when the flag is given.
    expect(values(serverOptions, ["--port", "7000"], { ECHO_PORT: "x" }).values.port).toBe(7000);
  });

  test("the server reads PORT (Heroku, Cloud Run) when ECHO_PORT is not set; the client does not", () => {
    const port = values(serverOptions, [], { PORT: "8080" });
    expect([port.values.port, port.sources.port]).toEqual([8080, "PORT"]);
    const both = values(serverOptions, [], { PORT: "8080", ECHO_PORT: "6000" });
    expect([both.values.port, both.sources.port]).toEqual([6000, "ECHO_PORT"]);
    expect(values(serverOptions, ["--port", "7000"], { PORT: "8080" }).values.port).toBe(7000);
    expect(values(clientOptions, [], { PORT: "8080" }).values.port).toBe(5000);
  });

  test("every default parses, and gives the documented value", () => {
    expect(values(serverOptions, []).values).toMatchObject({
      host: "127.0.0.1",
      port: 5000,
      mode: "once",
      maxConnections: 10000,
      idleTimeout: 0,
      maxBuffer: 256 * 1024,
      workers: 1,
      tlsCert: undefined,
      quiet: false,
      trace: false,
    });
    expect(values(clientOptions, []).values).toMatchObject({ timeout: 0, tls: false });
  });

  test("a bad value from the environment is reported with the variable's name", () => {
    expect(problem(serverOptions, [], { ECHO_PORT: "abc" })).toBe(
      en.badValue.port("ECHO_PORT", "abc"),
    );
    expect(problem(clientOptions, [], { ECHO_TIMEOUT: "-1" })).toBe(
      en.badValue.secondsOrZero("ECHO_TIMEOUT", "-1"),
    );
    expect(problem(serverOptions, [], { ECHO_QUIET: "maybe" })).toBe(
      en.badValue.boolean("ECHO_QUIET", "maybe"),
    );
    expect(problem(serverOptions, [], { ECHO_MODE: "x" }, catalogs.pt)).toBe(
      catalogs.pt.badValue.mode("ECHO_MODE", "x"),
    );
    // ...and from the command line with the flag's.
    expect(problem(serverOptions, ["--port", "abc"])).toBe(en.badValue.port("--port", "abc"));
  });

  test("a bad number of seconds is told with what this option's 0 means", () => {
    expect(problem(serverOptions, ["--stop-delay", "-1"])).toBe(
      '--stop-delay must be a number of seconds, 0 for no delay, not "-1"',
    );
    expect(problem(serverOptions, ["--drain-timeout", "-1"])).toBe(
      '--drain-timeout must be a number of seconds, 0 for no limit, not "-1"',
    );
  });

  test("--flag=value is the same as --flag value", () => {
    expect(values(serverOptions, ["--port=7000"]).values.port).toBe(7000);
    expect(values(serverOptions, ["--mode=concurrent", "--max-buffer=1m"]).values).toMatchObject({
      mode: "concurrent",
      maxBuffer: 1 << 20,
    });
    expect(values(clientOptions, ["--host=::1"]).values.host).toBe("::1");
    // A value may itself start with a dash when it is attached: refused by its parser, by name.
    expect(problem(clientOptions, ["--timeout=-1"])).toBe(
      en.badValue.secondsOrZero("--timeout", "-1"),
    );
  });

  test("a missing value", () => {
    expect(problem(serverOptions, ["--port"])).toBe(en.missingValue("--port"));
    // `--port --mode x` forgot the port; it is not a port called "--mode".
    expect(problem(serverOptions, ["--port", "--mode", "x"])).toBe(en.missingValue("--port"));
    expect(problem(serverOptions, ["--mode", "--quiet"])).toBe(en.missingValue("--mode"));
  });

  test("--host refuses an empty value and a malformed IPv4 address", () => {
    expect(problem(serverOptions, ["--host", ""])).toBe(en.badValue.emptyHost("--host"));
    expect(problem(clientOptions, ["--host="])).toBe(en.badValue.emptyHost("--host"));
    expect(problem(serverOptions, ["--host", "999.1.1.1"])).toBe(
      en.badValue.badIp("--host", "999.1.1.1"),
    );
    expect(problem(clientOptions, [], { ECHO_HOST: "1.2.3" })).toBe(
      en.badValue.badIp("ECHO_HOST", "1.2.3"),
    );
    expect(values(clientOptions, ["--host", "localhost"]).values.host).toBe("localhost");
  });

  test("an unknown option, an unexpected argument, a value given to a flag", () => {
    expect(problem(serverOptions, ["--nope"])).toBe(en.unknownOption("--nope"));
    expect(problem(serverOptions, ["--nope=1"])).toBe(en.unknownOption("--nope"));
    expect(problem(clientOptions, ["--quiet"])).toBe(
      en.otherProgramOption("--quiet", ["bun run server"]), // server only: said whose it is
    );
    expect(problem(serverOptions, ["-x"])).toBe(en.unknownOption("-x"));
    expect(problem(serverOptions, ["5000"])).toBe(en.portWithoutFlag("5000"));
    expect(problem(serverOptions, ["--prot"])).toBe(en.unknownOptionNear("--prot", "--port"));
    expect(problem(serverOptions, ["extra"])).toBe(en.unexpectedArgument("extra"));
    expect(problem(serverOptions, ["--quiet=1"])).toBe(en.flagTakesNoValue("--quiet"));
    expect(problem(serverOptions, ["--nope"], {}, catalogs.pt)).toBe(
      catalogs.pt.unknownOption("--nope"),
    );
  });

  test("a bare mode name, and a --client command the shell split: the hint names the fix", () => {
    expect(problem(serverOptions, ["sequential"])).toBe(
      'unexpected argument "sequential" (to choose the mode: --mode sequential)',
    );
    expect(problem(probeOptions, ["--timeout", "1", "concurrent"])).toBe(
      'unexpected argument "concurrent" (to choose the mode: --expect concurrent)',
    );
    const split = ["--client", "python3", "cliente.py", "{port}", "--timeout", "2"];
    expect(problem(probeOptions, split, {}, catalogs.pt)).toBe(
      `argumento inesperado: "cliente.py" (ponha o comando inteiro entre aspas: --client 'python3 cliente.py {port}')`,
    );
    // Not after a command: no quoting to suggest.
    expect(problem(probeOptions, ["--timeout", "1", "cliente.py"])).toBe(
      en.unexpectedArgument("cliente.py"),
    );
  });

  test("-q is --quiet; ECHO_QUIET=1 too", () => {
    expect(values(serverOptions, ["-q"]).values.quiet).toBe(true);
    expect(values(serverOptions, ["--quiet"]).values.quiet).toBe(true);
    expect(values(serverOptions, [], { ECHO_QUIET: "1" }).values.quiet).toBe(true);
    expect(values(serverOptions, [], { ECHO_QUIET: "0" }).values.quiet).toBe(false);
    expect(values(serverOptions, ["-q"], { ECHO_QUIET: "0" }).values.quiet).toBe(true);
  });

  test("--log-level data|connections|warn|error, ECHO_LOG_LEVEL too; --quiet is warn", () => {
    expect(values(serverOptions, []).values.logLevel).toBe("data");
    expect(values(serverOptions, ["--log-level", "Connections"]).values.logLevel).toBe(
      "connections",
    );
    expect(values(serverOptions, [], { ECHO_LOG_LEVEL: "error" }).values.logLevel).toBe("error");
    expect(problem(serverOptions, ["--log-level", "debug"])).toBe(
      en.badValue.logLevel("--log-level", "debug"),
    );
    /** The level a command line settles on, or its usage error. */
    const level = (argv: string[], env: Record<string, string> = {}) => {
      const started = startup("server", serverOptions, argv, env, "0", serverSettings);
      return started.exit ? started.exit.text : started.settings.logLevel;
    };
    expect(level(["-q"])).toBe("warn");
    expect(level([], { ECHO_QUIET: "1" })).toBe("warn");
    expect(level(["--log-level", "connections"])).toBe("connections");
    // Both at once contradict each other: named as the user gave them.
    expect(level(["-q", "--log-level", "data"])).toContain(en.notWith("--quiet", "--log-level"));
    expect(level(["--log-level", "error"], { ECHO_QUIET: "1" })).toContain(
      en.notWith("ECHO_QUIET", "--log-level"),
    );
  });

  test("-h and -v answer before anything else is checked", () => {
    expect(parseCommandLine(serverOptions, ["--port", "x", "-h"], {}, en).action).toBe("help");
    expect(parseCommandLine(clientOptions, ["-v"], { ECHO_PORT: "x" }, en).action).toBe("version");
  });
});
