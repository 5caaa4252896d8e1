/** For the people who learn with it: Portuguese, --trace, and a real terminal. */
import { describe, expect, test } from "bun:test";
import { catalogs } from "../../src/messages/index.ts";
import {
  BUN,
  concurrently,
  have,
  onTerminal,
  Peer,
  randomBytes,
  run,
  startServer,
  TRACE_ONLY,
} from "../helpers.ts";

const PT = { LANG: "pt_BR.UTF-8" };

/**
 * Every text a catalogue can say: each message function called with sample arguments (numbers
 * both 1 and more, for the singular and the plural).
 */
function everyText(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (typeof node === "function") {
    const kinds = [
      [
        [1, 1, 1, 1, 1, 1],
        [2, 3, 4, 5, 6, 7],
      ],
      [["x", "y", "z"]],
      [["--x", ["a", "b"]]],
    ];
    for (const sets of kinds) {
      try {
        return sets.map((args) => String(node(...args)));
      } catch {
        // not these arguments: try the next kind
      }
    }
    return [];
  }
  if (node !== null && typeof node === "object") return Object.values(node).flatMap(everyText);
  return [];
}

describe("Portuguese", () => {
  concurrently(
    "LANG=pt_BR.UTF-8: the server and the client speak Portuguese end to end",
    async () => {
      const server = await startServer([], PT);
      expect(server.out.all[0]).toBe(`escutando em 127.0.0.1:${server.port} (modo once)`);
      const client = run("client.ts", ["--port", String(server.port)], {
        stdin: "oi\nfim\n",
        env: PT,
      });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["oi"]);
      expect(client.err.text).toContain(
        `conectado a 127.0.0.1:${server.port}; digite uma mensagem, ou fim (ou Ctrl-D) para sair`,
      );
      expect(await server.exited).toBe(0);
      expect(server.out.text).toContain("#1 nova conexão de 127.0.0.1:");
      expect(server.out.text).toContain('#1 recebeu 3 bytes: "oi\\n"');
      expect(server.out.text).toMatch(/#1 fechada: 3 bytes ecoados em \d+,\d s/);
      expect(server.out.all.at(-1)).toMatch(
        /^parado: 1 conexão, 3 bytes ecoados, no ar por \d+,\d s$/,
      );
    },
  );

  concurrently("--trace's sentences are in Portuguese too; its event names stay", async () => {
    const server = await startServer(["--mode", "concurrent", "--quiet"]);
    const client = run("client.ts", ["--port", String(server.port), "--trace"], {
      stdin: "oi\nfim\n",
      env: PT,
    });
    expect(await client.exited).toBe(0);
    expect(client.err.text).toMatch(/ ms {2}echo 3 bytes, completo$/m);
    expect(client.err.text).not.toContain("complete");
  });

  concurrently.each([
    [
      "connection refused",
      1,
      "client.ts",
      ["--port", "1"],
      "erro: conexão recusada por 127.0.0.1:1: nenhum servidor está escutando nesse endereço. Inicie um (bun run server) ou confira --host e --port; um servidor no modo once para de escutar assim que seu único cliente se conecta",
    ],
    [
      "a usage error",
      2,
      "server.ts",
      ["--mode", "x"],
      'erro: --mode deve ser once, sequential ou concurrent, não "x" (veja: bun run server --help)',
    ],
    [
      "--lang en wins over LANG",
      2,
      "server.ts",
      ["--lang", "en", "--mode", "x"],
      'error: --mode must be once, sequential or concurrent, not "x" (see: bun run server --help)',
    ],
  ])("LANG=pt_BR.UTF-8, %s: one line, exit %d", async (_, code, script, args, line) => {
    const child = run(script, args, { stdin: "oi\n", env: PT });
    expect(await child.exited).toBe(code);
    expect(child.err.all).toEqual([line]);
  });

  // Phrasings a native speaker's reading replaced (issue 21): too literal, or the same thing
  // named two ways. Event names (open, drain...) and a few quoted terms stay, by design.
  test.each([
    ["#1 conectada de", /conectada (de|via)/],
    ["ativo por 3,1 s", /\bativo por\b/],
    ["eco moldado", /moldad|moldando/i],
    ["#1 < recebeu (hexdump)", /[<>] (recebeu|enviou) /],
    ["fechada na hora (repeats the closed line)", /fechada na hora/],
    ["parou de esperar / continuo esperando (who speaks?)", /parou de esperar|continuo esperando/],
    ["lendo ao mesmo tempo", /lendo ao mesmo tempo/],
    ["o antigo drena", /\bdrena\b/],
    ["na de erros (elsewhere: saída de erro)", /(saída|na) de erros/],
    ["meio-fechada (elsewhere: fechamento parcial)", /meio-fechad/],
    ["enviados 1 byte (the participle agrees)", /(enviados|recebidos) 1 byte\b/],
    ["got += pedaco (an English name in Portuguese code)", /\bgot\b/],
    ["no fim da entrada (fim is also the stop word)", /fim da entrada/],
  ])("the Portuguese catalogue no longer says %s", (_, phrasing) => {
    const texts = everyText(catalogs.pt);
    expect(texts.length).toBeGreaterThan(300);
    expect(texts.filter((text) => phrasing.test(text))).toEqual([]);
  });

  test("Portuguese agrees with one: the noun, its participle and its verb", () => {
    const pt = catalogs.pt;
    expect(pt.closedAfter(1)).toBe("--close-after: 1 byte ecoado, conexão fechada (FIN)");
    expect(pt.traceEchoComplete(1)).toBe("1 byte, completo");
    expect(pt.hexOut(2, 1)).toBe("#2 > enviado 1 byte");
    expect(pt.hexReceived(1)).toBe("recebido 1 byte:");
    expect(pt.partialEcho(1, 5, '"o"')).toStartWith("só 1 dos 5 bytes enviados voltou até agora");
    expect(pt.probeSummary(1, 9)).toBe("1 de 9 verificações passou");
    expect(pt.udpSummary(3, 3, 1, 0, 1, 2)).toBe(
      "parado: 3 datagramas, 3 bytes ecoados, 1 descartado (fila cheia), 0 para remetentes que já saíram (porta inalcançável), 1 recusado (laço de eco), no ar por 2,0 s",
    );
  });

  concurrently("--help in Portuguese (LC_ALL): the stop word stays fim", async () => {
    const help = run("client.ts", ["--help"], { env: { LC_ALL: "pt_BR.UTF-8" } });
    expect(await help.exited).toBe(0);
    expect(help.out.text).toContain("Digite fim (em maiúsculas ou minúsculas) ou tecle Ctrl-D");
  });
});

describe("--trace", () => {
  concurrently(
    "every event of both sides on stderr, with timestamps; stdout is the same as without it",
    async () => {
      const line = "x".repeat(300_000);
      const plain = await startServer([]);
      const quietRun = run("client.ts", ["--port", String(plain.port)], {
        stdin: `${line}\nfim\n`,
      });
      expect(await quietRun.exited).toBe(0);

      const server = await startServer(["--trace"]);
      const traced = run("client.ts", ["--port", String(server.port), "--trace"], {
        stdin: `${line}\nfim\n`,
      });
      expect(await traced.exited).toBe(0);
      expect(await server.exited).toBe(0);
      expect(traced.out.text).toBe(quietRun.out.text); // trace never changes stdout
      const stamp = /^\s*\d+\.\d{3} ms {2}/;
      const clientEvents = traced.err.all
        .filter((l) => stamp.test(l))
        .map((l) => l.replace(stamp, "").split(" ")[0]);
      expect(clientEvents).toContain("connect");
      expect(clientEvents).toContain("open");
      expect(traced.err.text).toMatch(/ send 300001 bytes/);
      expect(traced.err.text).toMatch(/ write \d+\/300001/);
      expect(traced.err.text).toMatch(/ data \d+/); // each piece of the echo
      expect(traced.err.text).toMatch(/ echo 300001 bytes complete/);
      const serverEvents = server.err.all.map(
        (l) => l.replace(stamp, "").replace(/^#1 /, "").split(" ")[0],
      );
      expect(serverEvents).toEqual(
        expect.arrayContaining(["listen", "open", "data", "write", "end", "close"]),
      );
    },
  );

  concurrently("backpressure is visible: pause, drain, resume, in that order", async () => {
    const server = await startServer([...TRACE_ONLY, "--max-buffer", "1"]);
    const peer = new Peer(server.port, "127.0.0.1", false);
    const payload = randomBytes(16 << 20);
    const sending = peer.send(payload);
    await server.err.waitFor(/#1 pause \d+/);
    peer.socket.resume();
    await sending;
    peer.finish();
    await peer.ended;
    await server.err.waitFor("#1 close");
    const events = server.err.all
      .map((l) => /#1 (pause|drain|resume)/.exec(l)?.[1])
      .filter(Boolean);
    const first = events.indexOf("pause");
    expect(first).toBeGreaterThanOrEqual(0);
    expect(events.slice(first)).toContain("drain");
    expect(events.indexOf("resume")).toBeGreaterThan(events.indexOf("drain", first));
  });
});

describe.skipIf(!have("script"))("on a terminal", () => {
  /** The client on a pseudo-terminal: types a line at each prompt; what the terminal showed. */
  async function session(port: number, lines: string[], env: Record<string, string> = {}) {
    const terminal = onTerminal(`${BUN} client.ts --port ${port}`, env);
    for (const line of lines) await terminal.answer(line);
    expect(await terminal.exited).toBe(0);
    return terminal.screen;
  }

  concurrently(
    "colour for the prompt and the echo, the hint once at the start; none with NO_COLOR",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const screen = await session(server.port, ["oi", "fim"], { NO_COLOR: "" });
      expect(screen).toContain("\x1b[36m> \x1b[39m"); // the prompt, in cyan
      expect(screen).toContain("\x1b[32moi\x1b[39m"); // the echo, in green
      expect(screen.match(/type a message, or fim \(or Ctrl-D\) to leave/g)).toHaveLength(1);

      const plain = await session(server.port, ["oi", "fim"], { NO_COLOR: "1" });
      expect(plain).not.toContain("\x1b[");
      expect(plain).toContain("> ");
    },
  );

  concurrently(
    "a line cut by the terminal's limit (4,095 bytes on Linux) is said, not sent silently",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--quiet"]);
      const terminal = onTerminal(`${BUN} client.ts --port ${server.port}`);
      await terminal.answer("a".repeat(4999)); // a paste longer than the terminal keeps
      await terminal.shows("the most the terminal keeps of one line");
      await terminal.shows("cat file.txt | bun run client");
      await terminal.answer("short");
      await terminal.answer("fim");
      expect(await terminal.exited).toBe(0);
      // The warning came once: for the cut line, not for a short one.
      expect(terminal.screen.match(/the most the terminal keeps/g)).toHaveLength(1);
    },
  );

  concurrently(
    "Ctrl-C while waiting its turn (sequential): one line, exit 130, not silent",
    async () => {
      const server = await startServer(["--mode", "sequential"]);
      const first = new Peer(server.port);
      await first.connected;
      await server.out.waitFor(/^#1 connected/);
      // --trace: the screen says when the line has been sent, and the wait begins.
      const terminal = onTerminal(`${BUN} client.ts --port ${server.port} --trace`);
      await terminal.answer("oi");
      await terminal.shows(" write 3/3"); // the last trace line before the wait
      terminal.type("\x03");
      expect(await terminal.exited).toBe(130);
      expect(terminal.screen).toMatch(/stopped waiting \(Ctrl-C\): no echo had come in [\d.]+ s/);
      // Below the terminal's ^C, as the server's lines are: not glued to it.
      expect(terminal.screen).toMatch(/\^C\r?\n(\x1b\[[\d;]*m)?stopped waiting/);
      first.close();
    },
  );

  concurrently("piped, there is no colour and no prompt", async () => {
    const server = await startServer();
    const client = run("client.ts", ["--port", String(server.port)], {
      stdin: "oi\n",
      env: { NO_COLOR: "" },
    });
    expect(await client.exited).toBe(0);
    expect(client.out.text + client.err.text).not.toContain("\x1b[");
    expect(client.err.text).not.toContain("> ");
  });
});
