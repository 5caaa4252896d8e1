/**
 * Readiness and stopping, as an operator relies on them: /readyz (asked with curl) says 503 while
 * full and from a stop signal; --stop-delay keeps accepting after the signal; the drain's one
 * rule (finished, silent for --drain-idle, or --drain-timeout) and its exit status 75; mode once
 * said at start to a service; PORT; and which usage error comes first.
 */
import { describe, expect } from "bun:test";
import {
  concurrently,
  connectedPeer,
  freePort,
  Peer,
  randomBytes,
  roundTrip,
  run,
  runCommand,
  startServer,
  until,
} from "../helpers.ts";
import { httpPortOf } from "../support/side-port.ts";

/** GET /readyz with curl, as an operator or a balancer's script asks: the status code. */
async function readyz(http: number): Promise<number> {
  const curl = runCommand([
    "curl",
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    `http://127.0.0.1:${http}/readyz`,
  ]);
  expect(await curl.exited).toBe(0);
  return Number(curl.out.text);
}

/** A stop signal is delivered asynchronously: /readyz changes a moment after kill() returns. */
async function readyzBecomes(http: number, status: number): Promise<number> {
  let got = await readyz(http);
  for (let i = 0; i < 100 && got !== status; i++) got = await readyz(http);
  return got;
}

const refusedOrConnected = (peer: Peer) =>
  peer.connected.then(
    () => "connected",
    (error) => error.code,
  );

describe("/readyz tells the truth", () => {
  concurrently(
    "full at --max-connections is not ready: 503 while full, 200 again when a slot frees",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--max-connections", "1", "--http-port", "0"],
      ]);
      const http = await httpPortOf(server);
      expect(await readyz(http)).toBe(200);
      const first = await connectedPeer(server);
      expect(await readyz(http)).toBe(503); // a new connection would be closed at once
      first.close();
      await server.out.waitFor("#1 closed");
      expect(await readyz(http)).toBe(200);
      server.proc.kill("SIGTERM");
      await server.out.waitFor("stopped");
      expect(await server.exited).toBe(0);
    },
  );

  concurrently(
    "--workers 2: one worker full at --max-connections makes the whole not ready; ready again when it frees",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--workers", "2", "--max-connections", "1"],
        ...["--http-port", "0", "--quiet"],
      ]);
      const http = await httpPortOf(server);
      expect(await readyz(http)).toBe(200);
      const held = new Peer(server.port);
      expect(await roundTrip(held, "a\n")).toBe("a\n"); // its worker is now full
      // The kernel may hand that worker the next client, which it would refuse.
      expect(await readyzBecomes(http, 503)).toBe(503);
      held.close();
      expect(await readyzBecomes(http, 200)).toBe(200);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );

  concurrently(
    "--stop-delay: after the signal /readyz is 503 and the port still accepts, then it closes",
    async () => {
      const server = await startServer([
        "--mode",
        "concurrent",
        "--http-port",
        "0",
        "--stop-delay",
        "2",
      ]);
      const http = await httpPortOf(server);
      const open = await connectedPeer(server); // keeps the drain busy once the port closes
      server.proc.kill("SIGTERM");
      await server.out.waitFor("stopping: /readyz now answers 503");
      expect(await readyz(http)).toBe(503);
      // A client the balancer sent before it heard the news is still served.
      const late = new Peer(server.port);
      expect(await roundTrip(late, "ainda\n")).toBe("ainda\n");
      late.finish();
      await server.out.waitFor("#2 closed");
      await server.out.waitFor("stopping: no new connections");
      expect(await refusedOrConnected(new Peer(server.port))).toBe("ECONNREFUSED");
      open.finish();
      expect(await server.exited).toBe(0);
    },
  );
});

describe("the drain: finished, silent for --drain-idle, or --drain-timeout", () => {
  concurrently(
    "--drain-idle 0 never closes a silent client: --drain-timeout does, and the exit status is 75",
    async () => {
      const server = await startServer([
        "--mode",
        "concurrent",
        "--drain-idle",
        "0",
        "--drain-timeout",
        "2.5",
      ]);
      const silent = await connectedPeer(server);
      server.proc.kill("SIGTERM");
      await silent.ended;
      expect(await server.exited).toBe(75);
      expect(server.out.text).toContain(
        "closing 1 connection still open 2.5 s after the stop (--drain-timeout)",
      );
      expect(server.out.text).not.toContain("--drain-idle:");
    },
  );

  concurrently("a drain that cut nothing exits 0", async () => {
    const server = await startServer(["--mode", "concurrent", "--drain-idle", "5"]);
    const peer = await connectedPeer(server);
    expect(await roundTrip(peer, "oi\n")).toBe("oi\n");
    server.proc.kill("SIGTERM");
    await server.out.waitFor("stopping: no new connections");
    peer.finish();
    expect(await server.exited).toBe(0);
  });

  concurrently(
    "--workers 2: the workers keep accepting for --stop-delay, the parent's /readyz is 503 from the signal, and it exits 75 when a worker's drain cut",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--workers", "2", "--http-port", "0"],
        ...["--stop-delay", "2", "--drain-idle", "0.5", "--max-buffer", "1k", "--trace"],
      ]);
      const http = await httpPortOf(server);
      expect(await readyz(http)).toBe(200);
      // Never reads: its echo stays stuck, so the drain cuts it short.
      const silent = new Peer(server.port, "127.0.0.1", false);
      await silent.connected;
      silent.socket.write(randomBytes(8 << 20));
      await server.err.waitFor(/pause/);
      server.proc.kill("SIGTERM");
      expect(await readyzBecomes(http, 503)).toBe(503);
      // Both workers are told by their parent, and each one waits out the delay itself.
      expect(await until(() => server.out.count(/\/readyz now answers 503/) === 2)).toBe(true);
      const late = new Peer(server.port);
      expect(await roundTrip(late, "ainda\n")).toBe("ainda\n");
      late.finish();
      expect(await server.exited).toBe(75); // its worker's drain cut it at --drain-idle
      silent.close();
    },
  );
});

describe("mode once, said at start to a service", () => {
  concurrently.each([
    [["--http-port", "0"], "en"],
    [["--proxy-protocol"], "pt"],
    [["--log-format", "json"], "pt"],
  ] as const)("%p without --mode (--lang %s): one line says so", async (args, lang) => {
    const server = run("server.ts", ["--port", "0", ...args, "--lang", lang]);
    await server.out.waitFor(/listening|escutando/);
    // Two pipes: the warning, written before the listening line, may be read after it.
    await server.err.waitFor(/^warning|^aviso|onceByDefault/);
    const warning =
      lang === "en"
        ? "warning: mode once (the default) ends the server after its first client; a service wants --mode concurrent"
        : "aviso: o modo once (o padrão) encerra o servidor depois do primeiro cliente; para um serviço, use --mode concurrent";
    if (args[0] === "--log-format")
      expect(server.err.all.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({ level: "warn", event: "onceByDefault" }),
      ]);
    else expect(server.err.all).toEqual([warning]);
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    // Asked for by name, mode once is what the operator wants: nothing to say.
    const asked = run("server.ts", ["--port", "0", ...args, "--mode", "once", "--lang", lang]);
    await asked.out.waitFor(/listening|escutando/);
    asked.proc.kill("SIGTERM");
    expect(await asked.exited).toBe(0);
    expect(asked.err.all).toEqual([]);
  });
});

describe("smaller: which error first, and PORT", () => {
  concurrently("--udp --workers 2 names the real conflict, not the mode", async () => {
    const server = run("server.ts", ["--udp", "--workers", "2"]);
    expect(await server.exited).toBe(2);
    expect(server.err.text).toContain("--udp does not go with --workers");
    // Datagrams have no connection to keep accepting or to drain.
    const delay = run("server.ts", ["--udp", "--stop-delay", "1"]);
    expect(await delay.exited).toBe(2);
    expect(delay.err.text).toContain("--udp does not go with --stop-delay");
  });

  concurrently("PORT is honoured when ECHO_PORT is not set; ECHO_PORT wins over it", async () => {
    const port = freePort();
    const server = run("server.ts", ["--mode", "concurrent"], { env: { PORT: String(port) } });
    await server.out.waitFor(`listening on 127.0.0.1:${port} `);
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const other = freePort();
    const both = run("server.ts", ["--mode", "concurrent"], {
      env: { PORT: String(port), ECHO_PORT: String(other) },
    });
    await both.out.waitFor(`listening on 127.0.0.1:${other} `);
    both.proc.kill("SIGTERM");
    expect(await both.exited).toBe(0);
    const bad = run("server.ts", [], { env: { PORT: "http" } });
    expect(await bad.exited).toBe(2);
    expect(bad.err.text).toContain('PORT must be a whole number from 0 to 65535, not "http"');
  });
});
