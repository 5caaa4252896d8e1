/**
 * The README's lab transcripts, checked rather than hoped: each session is played again on real
 * pseudo-terminals (script(1)), typing as a person would, and every terminal's screen must match
 * the README's block for it. Ports and durations are the only things allowed to differ.
 * ECHO_README_PRINT=1 bun test tests/readme.test.ts prints the screens, to paste after a change.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { BUN, have, ROOT } from "./helpers.ts";

const README = await Bun.file(`${ROOT}/README.md`).text();

/** `<!-- terminal: NAME -->` followed by a console block. */
function blocks(): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of README.matchAll(/<!-- terminal: (\S+) -->\s*```console\n([\s\S]*?)```/g)) {
    found.set(m[1]!, m[2]!.trimEnd());
  }
  return found;
}

/** A program on its own pseudo-terminal: what it shows, and a keyboard. */
class Terminal {
  screen = "";
  private proc: Bun.Subprocess<"pipe", "pipe", "ignore">;
  private listeners: (() => void)[] = [];
  readonly exited: Promise<number>;

  constructor(
    readonly command: string,
    env: Record<string, string>,
  ) {
    const path = `${ROOT}/node_modules/.bin:${process.env.PATH}`;
    const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
      cwd: ROOT,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
      env: { ...process.env, PATH: path, LANG: "C", TERM: "dumb", NO_COLOR: "1", ...env },
    });
    this.proc = proc;
    terminals.push(this);
    this.exited = (async () => {
      for await (const chunk of proc.stdout) {
        this.screen += new TextDecoder().decode(chunk);
        this.listeners.forEach((f) => f());
      }
      return proc.exited;
    })();
  }

  /** Waits until the screen shows `text` (at least `times` times). */
  async shows(text: string, times = 1): Promise<void> {
    const count = () => this.screen.split(text).length - 1;
    while (count() < times) {
      await new Promise<void>((resolve) => this.listeners.push(resolve));
      this.listeners = [];
    }
  }

  /** Types a line once the prompt is showing, as a person would. */
  async type(line: string): Promise<void> {
    await this.shows("> ", ++this.prompts);
    this.proc.stdin.write(`${line}\n`);
    this.proc.stdin.flush();
  }
  private prompts = 0;

  ctrlC(): void {
    this.proc.stdin.write("\x03");
    this.proc.stdin.flush();
  }

  kill(): void {
    this.proc.kill("SIGKILL");
  }

  /** The screen as the README shows it: the command line first, no colour, no CR. */
  text(port: number): string {
    const shown = this.screen
      .replace(/\x1b\[[0-9;]*m/g, "")
      .replace(/\r\n/g, "\n")
      .replace(/\r/g, "")
      .replaceAll(`:${port}`, ":5000")
      .trimEnd();
    return normalize(`$ ${this.command.replace(BUN, "bun")}\n${shown}`);
  }
}

/** Things that change from run to run: peer ports and durations. */
function normalize(text: string): string {
  return text
    .replace(/(from (?:127\.0\.0\.1|\[::1\])):\d+/g, "$1:PORT")
    .replace(/(de (?:127\.0\.0\.1|\[::1\])):\d+/g, "$1:PORT")
    .replace(/\d+\.\d s/g, "N s")
    .replace(/\d+,\d s/g, "N s");
}

const terminals: Terminal[] = [];
afterEach(() => {
  terminals.splice(0).forEach((terminal) => terminal.kill());
});

async function freePort(): Promise<number> {
  using probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  return probe.port;
}

/** Plays a session and compares each terminal with its README block. */
async function check(session: string, play: (env: Record<string, string>) => Promise<Terminal[]>) {
  const port = await freePort();
  const screens = await play({ ECHO_PORT: String(port) });
  await Promise.all(screens.map((terminal) => terminal.exited));
  const readme = blocks();
  const actual = screens.map((terminal) => terminal.text(port));
  if (process.env.ECHO_README_PRINT) {
    actual.forEach((text, i) =>
      console.log(`<!-- terminal: ${session}/${i + 1} -->\n\`\`\`console\n${text}\n\`\`\``),
    );
  }
  const expected = screens.map((_, i) => readme.get(`${session}/${i + 1}`));
  expect(actual).toEqual(
    expected.map((text) => (text === undefined ? "(missing)" : normalize(text))),
  );
}

describe.skipIf(!have("script"))("README transcripts, played again on terminals", () => {
  test("Atividade 1: one server (mode once), one client", async () => {
    await check("once", async (env) => {
      const server = new Terminal("bun run server", env);
      await server.shows("listening on");
      const client = new Terminal("bun run client", env);
      await client.type("oi");
      await client.type("ação ✓");
      await client.type("fim");
      await server.shows("stopped:");
      return [server, client];
    });
  });

  test("two clients, mode sequential: the second waits for the first", async () => {
    await check("sequential", async (env) => {
      const server = new Terminal("bun run server --mode sequential", env);
      await server.shows("listening on");
      const first = new Terminal("bun run client", env);
      await first.type("sou o primeiro");
      await first.shows("sou o primeiro", 2);
      const second = new Terminal("bun run client", env);
      await second.type("sou o segundo");
      await server.shows("#2 waiting");
      await first.type("fim");
      await second.shows("sou o segundo", 2); // its echo, once the first has left
      await second.type("fim");
      await server.shows("#2 closed");
      server.ctrlC();
      return [server, first, second];
    });
  });

  test("two clients, mode concurrent: both served at once", async () => {
    await check("concurrent", async (env) => {
      const server = new Terminal("bun run server --mode concurrent", env);
      await server.shows("listening on");
      const a = new Terminal("bun run client", env);
      await a.type("um");
      await a.shows("um", 2);
      const b = new Terminal("bun run client", env);
      await b.type("dois");
      await b.shows("dois", 2);
      await a.type("fim");
      await server.shows("#1 closed");
      await b.type("fim");
      await server.shows("#2 closed");
      server.ctrlC();
      return [server, a, b];
    });
  });
});

test("the README's set-up: npm install once, then its PATH line finds the project's Bun", () => {
  const block = README.match(/## Two commands\n[\s\S]*?```sh\n([\s\S]*?)```/)?.[1] ?? "";
  const [install, path, ...rest] = block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, ""))
    .filter((line) => line !== "");
  expect([install, rest]).toEqual(["npm install", []]);
  expect(README).not.toContain("npm install &&");
  // What a fresh terminal with only Node.js and npm would do: no bun on PATH, then the line.
  const shell = Bun.spawnSync(["bash", "--norc", "-c", `${path}\ncommand -v bun`], {
    cwd: ROOT,
    env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/" },
  });
  expect(shell.stdout.toString().trim()).toBe(`${ROOT}/node_modules/.bin/bun`);
  expect(README).toContain('`$env:Path = "$PWD\\node_modules\\.bin;$env:Path"`'); // PowerShell
});

test("the README's commands carry no # notes (zsh, macOS's shell, would run them as arguments)", () => {
  // zsh without `setopt interactivecomments` (its default) passes `# note` on to the command,
  // and runs any `backquoted` or (parenthesised) text in it: explain in the prose instead.
  const commands = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n"));
  expect(commands.length).toBeGreaterThan(20);
  expect(commands.filter((line) => /(^|\s)#/.test(line))).toEqual([]);
});

test("the README names the test command CI runs", async () => {
  expect(README).toContain("`bun test` runs the tests");
  expect(await Bun.file(`${ROOT}/.ci/run`).text()).toContain("npx bun test");
  expect(BUN).toBeTruthy();
});
