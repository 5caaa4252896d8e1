/**
 * The lab transcripts of README.md and of its Portuguese twin LEIAME.md, checked rather than
 * hoped: each session is played again on real pseudo-terminals (script(1)), typing as a person
 * would (LEIAME's under LANG=pt_BR.UTF-8), and every terminal's screen must match the document's
 * block for it. Ports and durations are the only things allowed to differ.
 * ECHO_README_PRINT=1 bun test tests/lab/readme.test.ts prints the screens, to paste after a change.
 */
import { describe, expect } from "bun:test";
import { catalogs } from "../../src/messages/index.ts";
import { BUN, concurrently, freePort, have, onTerminal, ROOT, type Terminal } from "../helpers.ts";

const README = await Bun.file(`${ROOT}/README.md`).text();
const LEIAME = await Bun.file(`${ROOT}/LEIAME.md`)
  .text()
  .catch(() => "");
/** Every document with commands a reader copies: the README, LEIAME and docs/. */
const DOCS = [README, LEIAME];
for await (const file of new Bun.Glob("docs/**/*.md").scan(ROOT)) {
  DOCS.push(await Bun.file(`${ROOT}/${file}`).text());
}

/** `<!-- terminal: NAME -->` followed by a console block. */
function blocks(doc: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of doc.matchAll(/<!-- terminal: (\S+) -->\s*```console\n([\s\S]*?)```/g)) {
    found.set(m[1]!, m[2]!.trimEnd());
  }
  return found;
}

/** A terminal's screen as the README shows it: the command line first, no colour, no CR. */
function shown(terminal: Terminal, port: number): string {
  const screen = terminal.screen
    .replace(/\x1b\[[0-9;]*m/g, "")
    .replace(/\r\n/g, "\n")
    .replace(/\r/g, "")
    .replaceAll(`:${port}`, ":5000")
    .trimEnd();
  return normalize(`$ ${terminal.command.replace(BUN, "bun")}\n${screen}`);
}

/** Things that change from run to run: peer ports and durations. */
function normalize(text: string): string {
  return text
    .replace(/(from (?:127\.0\.0\.1|\[::1\])):\d+/g, "$1:PORT")
    .replace(/(de (?:127\.0\.0\.1|\[::1\])):\d+/g, "$1:PORT")
    .replace(/\d+\.\d s/g, "N s")
    .replace(/\d+,\d s/g, "N s");
}

/** The words a session waits for, in the language its document is written in. */
const languages = {
  en: {
    doc: README,
    env: {},
    listening: "listening on",
    stopped: "stopped:",
    waiting: "#2 waiting",
    closed: (id: number) => `#${id} closed`,
  },
  pt: {
    doc: LEIAME,
    env: { LANG: "pt_BR.UTF-8" },
    listening: "escutando em",
    stopped: "parado:",
    waiting: "#2 esperando",
    closed: (id: number) => `#${id} fechada`,
  },
};
type Language = (typeof languages)[keyof typeof languages];

/** Plays a session and compares each terminal with its block in the document. */
async function check(
  language: Language,
  session: string,
  play: (env: Record<string, string>) => Promise<Terminal[]>,
) {
  const port = freePort();
  const screens = await play({ ...language.env, ECHO_PORT: String(port) });
  await Promise.all(screens.map((terminal) => terminal.exited));
  const readme = blocks(language.doc);
  const actual = screens.map((terminal) => shown(terminal, port));
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

describe.skipIf(!have("script")).each(Object.entries(languages))(
  "%s transcripts (README.md, LEIAME.md), played again on terminals",
  (_, language) => {
    const { listening, stopped, waiting, closed } = language;

    concurrently("Atividade 1: one server (mode once), one client", async () => {
      await check(language, "once", async (env) => {
        const server = onTerminal("bun run server", env);
        await server.shows(listening);
        const client = onTerminal("bun run client", env);
        await client.answer("oi");
        await client.answer("ação ✓");
        await client.answer("fim");
        await server.shows(stopped);
        return [server, client];
      });
    });

    concurrently("two clients, mode sequential: the second waits for the first", async () => {
      await check(language, "sequential", async (env) => {
        const server = onTerminal("bun run server --mode sequential", env);
        await server.shows(listening);
        const first = onTerminal("bun run client", env);
        await first.answer("sou o primeiro");
        await first.shows("sou o primeiro", 2);
        const second = onTerminal("bun run client", env);
        await second.answer("sou o segundo");
        await server.shows(waiting);
        await first.answer("fim");
        await second.shows("sou o segundo", 2); // its echo, once the first has left
        await second.answer("fim");
        await server.shows(closed(2));
        server.type("\x03"); // Ctrl-C
        return [server, first, second];
      });
    });

    concurrently("two clients, mode concurrent: both served at once", async () => {
      await check(language, "concurrent", async (env) => {
        const server = onTerminal("bun run server --mode concurrent", env);
        await server.shows(listening);
        const a = onTerminal("bun run client", env);
        await a.answer("um");
        await a.shows("um", 2);
        const b = onTerminal("bun run client", env);
        await b.answer("dois");
        await b.shows("dois", 2);
        await a.answer("fim");
        await server.shows(closed(1));
        await b.answer("fim");
        await server.shows(closed(2));
        server.type("\x03"); // Ctrl-C
        return [server, a, b];
      });
    });
  },
);

concurrently(
  "the README's set-up: npm install once, then its PATH line finds the project's Bun",
  () => {
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
  },
);

concurrently(
  "the documents' commands carry no # notes (zsh, macOS's shell, would run them as arguments)",
  () => {
    // zsh without `setopt interactivecomments` (its default) passes `# note` on to the command,
    // and runs any `backquoted` or (parenthesised) text in it: explain in the prose instead.
    const commands = DOCS.flatMap((doc) =>
      [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n")),
    );
    expect(commands.length).toBeGreaterThan(20);
    expect(commands.filter((line) => /(^|\s)#/.test(line))).toEqual([]);
  },
);

concurrently(
  "a client left idle at the server's Ctrl-C: both documents quote the lines both sides print",
  () => {
    for (const [doc, t] of [
      [README, catalogs.en],
      [LEIAME, catalogs.pt],
    ] as const) {
      expect(doc).toContain(t.closed(1, 15, 4.7, t.stalled(2, "SIGINT")));
      expect(doc).toContain(t.serverClosedIdle(4.7));
    }
  },
);

concurrently("the README names the test command CI runs", async () => {
  expect(README).toContain("`bun test` runs the tests");
  expect(await Bun.file(`${ROOT}/.ci/run`).text()).toContain("npx bun test");
});
