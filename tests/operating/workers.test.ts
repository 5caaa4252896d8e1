/** --workers N: N server processes on one port (SO_REUSEPORT), supervised by the parent. */
import { describe, expect } from "bun:test";
import { mkdtempSync, readlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  alive,
  BUN,
  childrenOf,
  concurrently,
  echoOf,
  goodClient,
  onTerminal,
  Peer,
  randomBytes,
  roundTrip,
  ROOT,
  run,
  runCommand,
  sha256,
  startServer,
  testServer,
  until,
} from "../helpers.ts";
import {
  blockedOnOutput,
  HUNG_AFTER_MS,
  othersListening,
} from "../../src/server/features/workers.ts";
import { haveParser, httpPortOf, scrape } from "../support/side-port.ts";

/** The worker processes: the parent's direct children. */
const workersOf = childrenOf;

/** Idle clients, each with one echo done: all still served later means none was cut. */
async function idleClients(port: number, n: number): Promise<Peer[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const peer = new Peer(port);
      expect(await roundTrip(peer, `idle ${i}\n`)).toBe(`idle ${i}\n`);
      return peer;
    }),
  );
}
async function stillServed(peers: Peer[]): Promise<void> {
  for (const [i, peer] of peers.entries())
    expect(await roundTrip(peer, `again ${i}\n`)).toBe(`idle ${i}\nagain ${i}\n`);
}

/**
 * A pause of the whole scenario: longer than the hang limit, and then at least one of the
 * parent's checks (one a second: the first after the pause is the one that would end a worker).
 * What is being tested is what a pause of this length does.
 */
const PAUSE_MS = HUNG_AFTER_MS + 1500;
const CHECKS_MS = 1500;

/** Messages, each logged, until a worker is blocked writing its log; then the flood stops. */
async function floodUntilBlocked(port: number, workers: number[]): Promise<void> {
  const flood = connect(port, "127.0.0.1");
  flood.on("error", () => {});
  flood.resume(); // its echo is read and dropped
  const piece = Buffer.alloc(64, "x");
  const pump = setInterval(() => flood.write(piece), 1);
  try {
    await until(() => workers.some(blockedOnOutput));
  } finally {
    clearInterval(pump);
    flood.destroy();
  }
}

// First: the longest tests of the file, they wait past the hang limit on purpose; side by side
// with the others rather than after them.
describe("--workers: a pause is not a hang", () => {
  concurrently(
    "the parent stopped (SIGSTOP) longer than the hang limit, then SIGCONT: no worker ended, every idle client still served",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--workers", "3", "--quiet"]);
      const workers = workersOf(server.proc.pid);
      const peers = await idleClients(server.port, 6);
      server.proc.kill("SIGSTOP");
      await Bun.sleep(PAUSE_MS);
      server.proc.kill("SIGCONT");
      await Bun.sleep(CHECKS_MS);
      expect(server.err.text).toBe("");
      expect(workersOf(server.proc.pid)).toEqual(workers);
      await stillServed(peers);
      for (const peer of peers) peer.close();
    },
  );

  concurrently(
    "a worker blocked writing its log to a pipe nobody reads is not hung; it carries on once read",
    async () => {
      // The server's stdout goes through `cat`, stopped: the pipe fills, and the worker that logs
      // the flood blocks in its write.
      const shell = runCommand([
        "sh",
        "-c",
        `exec ${BUN} server.ts --port 0 --mode concurrent --workers 2 | cat`,
      ]);
      const line = await shell.out.waitFor(/^listening on/);
      const port = Number(/:(\d+) /.exec(line)![1]);
      const [supervisor, cat] = childrenOf(shell.proc.pid);
      const workers = workersOf(supervisor!);
      const peers = await idleClients(port, 6);
      process.kill(cat!, "SIGSTOP");
      try {
        await floodUntilBlocked(port, workers);
        await Bun.sleep(PAUSE_MS);
        expect(workersOf(supervisor!)).toEqual(workers);
      } finally {
        process.kill(cat!, "SIGCONT");
      }
      await stillServed(peers);
      expect(shell.err.text).not.toContain("ending it");
      for (const peer of peers) peer.close();
    },
  );

  concurrently(
    "a terminal held by Ctrl-S longer than the hang limit: no worker ended; Ctrl-Q, and every idle client is served",
    async () => {
      const terminal = onTerminal(`${BUN} server.ts --port 0 --mode concurrent --workers 2`);
      await terminal.shows("(mode concurrent, 2 workers)");
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(terminal.screen)![1]);
      const [supervisor] = childrenOf(terminal.proc.pid);
      const workers = workersOf(supervisor!);
      const peers = await idleClients(port, 6);
      terminal.type("\x13"); // Ctrl-S: the terminal takes no more output
      try {
        await floodUntilBlocked(port, workers);
        await Bun.sleep(PAUSE_MS);
        expect(workersOf(supervisor!)).toEqual(workers);
      } finally {
        terminal.type("\x11"); // Ctrl-Q
      }
      await stillServed(peers);
      expect(terminal.screen).not.toContain("ending it");
      for (const peer of peers) peer.close();
    },
  );
});

describe("--workers", () => {
  concurrently(
    "two processes share the port, both serve, every echo exact; SIGTERM stops all",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--workers", "2"]);
      expect(server.out.all[0]).toMatch(
        /^listening on 127\.0\.0\.1:\d+ \(mode concurrent, 2 workers\)$/,
      );
      const workers = workersOf(server.proc.pid);
      expect(workers).toHaveLength(2);

      const payload = randomBytes(300_000);
      const echoes = await Promise.all(
        Array.from({ length: 24 }, () => echoOf(server.port, payload)),
      );
      for (const echo of echoes) expect(sha256(echo)).toBe(sha256(payload));
      // Worker k numbers its connections k, k+2, k+4...: odd and even ids mean both served.
      await server.out.waitFor(/^#\d*[13579] closed: 300,000 bytes echoed/);
      await server.out.waitFor(/^#\d*[02468] closed: 300,000 bytes echoed/);

      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.out.text).toMatch(/stopped: 24 connections, 7,200,000 bytes echoed/);
      for (const pid of workers) expect(alive(pid)).toBe(false);
    },
  );

  concurrently(
    "a worker that dies is logged and started again; the port keeps serving",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--workers", "2", "--quiet"]);
      const [first, second] = workersOf(server.proc.pid);
      process.kill(first!, "SIGKILL");
      await server.err.waitFor(
        new RegExp(
          `^warning: worker 1 \\(pid ${first}\\) ended unexpectedly \\(signal SIGKILL\\); starting it again$`,
        ),
      );
      await until(() => workersOf(server.proc.pid).length === 2);
      const now = workersOf(server.proc.pid);
      expect(now).toContain(second!);
      expect(now).not.toContain(first!);
      for (let i = 0; i < 6; i++) await goodClient(server, 50_000);
    },
  );

  concurrently(
    "Ctrl-C (SIGINT) reaches every worker; an echo in flight finishes, then exit 0",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--workers", "2"]);
      const workers = workersOf(server.proc.pid);
      const peer = new Peer(server.port);
      const data = randomBytes(2_000_000);
      await peer.send(data.subarray(0, 1_000_000));
      await peer.until(1_000_000);
      server.proc.kill("SIGINT");
      await server.out.waitFor("stopping: no new connections; waiting for 1 open connection");
      await peer.send(data.subarray(1_000_000));
      peer.finish();
      await peer.ended;
      expect(sha256(peer.all())).toBe(sha256(data));
      expect(await server.exited).toBe(0);
      expect(server.out.text).toMatch(/stopped: 1 connection, 2,000,000 bytes echoed/);
      for (const pid of workers) expect(alive(pid)).toBe(false);
    },
  );

  concurrently("workers left without their parent stop by themselves", async () => {
    const server = await startServer(["--mode", "concurrent", "--workers", "2", "--quiet"]);
    const workers = workersOf(server.proc.pid);
    server.proc.kill("SIGKILL");
    await until(() => workers.every((pid) => !alive(pid)));
  });

  concurrently.each([
    ["once", ["--workers", "2"]],
    ["sequential", ["--mode", "sequential", "--workers", "auto"]],
  ])("mode %s refuses %p: exit 2, one line", async (_, args) => {
    // `auto` on a one-core machine is 1 worker, which every mode accepts.
    if (navigator.hardwareConcurrency < 2 && args.includes("auto")) return;
    const child = run("server.ts", ["--port", "0", ...args]);
    expect(await child.exited).toBe(2);
    expect(child.err.all).toEqual([
      expect.stringMatching(
        /^error: --workers above 1 needs --mode concurrent: in mode (once|sequential) one process must see every client/,
      ),
    ]);
  });

  concurrently.each([["0"], ["65"], ["two"]])("--workers %p: exit 2, one line", async (bad) => {
    const child = run("server.ts", ["--mode", "concurrent", "--workers", bad]);
    expect(await child.exited).toBe(2);
    expect(child.err.all).toEqual([
      expect.stringContaining(
        `--workers must be auto or a whole number from 1 to 64, not "${bad}"`,
      ),
    ]);
  });

  concurrently(
    "a port already in use: the worker's error, exit 1, nothing left running",
    async () => {
      using taken = testServer(() => {});
      const child = run("server.ts", [
        "--mode",
        "concurrent",
        "--workers",
        "2",
        "--port",
        String(taken.port),
      ]);
      expect(await child.exited).toBe(1);
      expect(child.err.all).toEqual([expect.stringContaining("is already in use")]);
      expect(child.out.text).not.toContain("listening on");
    },
  );
});

concurrently(
  "where SO_REUSEPORT does not work: a warning, one process, and the label says so",
  async () => {
    // A system without SO_REUSEPORT, played by a preload: a second listener on a port in use fails,
    // as it does there, whatever reusePort asks.
    const dir = mkdtempSync(join(tmpdir(), "echo-noreuse-"));
    const preload = join(dir, "no-reuseport.ts");
    writeFileSync(
      preload,
      `const listen = Bun.listen;
const taken = new Set<number>();
(Bun as any).listen = (options: any) => {
  if (options.port && taken.has(options.port)) throw Object.assign(new Error("in use"), { code: "EADDRINUSE" });
  const listener = listen(options);
  taken.add(listener.port);
  const stop = listener.stop.bind(listener);
  listener.stop = (closeActive?: boolean) => (taken.delete(listener.port), stop(closeActive));
  return listener;
};
`,
    );
    const server = runCommand([
      BUN,
      "--preload",
      preload,
      join(ROOT, "server.ts"),
      ...["--port", "0", "--mode", "concurrent", "--workers", "2"],
    ]);
    await server.out.waitFor(/^listening on/);
    expect(server.err.all).toEqual([
      "warning: SO_REUSEPORT is not available here, so one process serves the port: running 1 worker",
    ]);
    expect(server.out.all[0]).toMatch(/^listening on 127\.0\.0\.1:\d+ \(mode concurrent\)$/);
    expect(childrenOf(server.proc.pid)).toEqual([]); // no workers: this process serves
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  },
);

describe("--workers: one port, exact figures", () => {
  concurrently(
    "a port where another echo with --workers listens: exit 1, one line; the first keeps every connection",
    async () => {
      const first = await startServer(["--mode", "concurrent", "--workers", "2"]);
      const second = run("server.ts", [
        ...["--mode", "concurrent", "--workers", "2", "--port", String(first.port)],
      ]);
      expect(await until(() => second.proc.exitCode !== null, 10_000)).toBe(true);
      expect(await second.exited).toBe(1);
      expect(second.err.all).toEqual([
        expect.stringMatching(
          new RegExp(`^error: 127\\.0\\.0\\.1:${first.port} is already in use`),
        ),
      ]);
      expect(second.out.text).not.toContain("listening on");
      for (let i = 0; i < 20; i++) await goodClient(first, 1000);
      await until(() => first.out.count(/^#\d+ closed/) === 20);
      expect(first.out.count(/^#\d+ closed: 1,000 bytes echoed/)).toBe(20);
    },
  );

  concurrently(
    "after binding, a listener that joined the port in the race is seen (/proc/net/tcp and the workers' fds)",
    async () => {
      // This process plays the workers; a child joins their port with SO_REUSEPORT, as another
      // echo could between the parent's check and the workers' bind.
      const socket = { data() {} };
      const ours = Bun.listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket } as never);
      try {
        const port = (ours as { port: number }).port;
        expect(othersListening(port, [process.pid])).toBe(false);
        const code = `Bun.listen({ hostname: "127.0.0.1", port: ${port}, reusePort: true, socket: { data() {} } }); console.log("joined")`;
        const other = runCommand([BUN, "-e", code]);
        await other.out.waitFor("joined");
        expect(othersListening(port, [process.pid])).toBe(true);
        expect(othersListening(port, [process.pid, other.proc.pid])).toBe(false);
        other.proc.kill("SIGKILL");
        await other.exited;
        expect(othersListening(port, [process.pid])).toBe(false);
      } finally {
        (ours as { stop(all: boolean): void }).stop(true);
      }
    },
  );

  concurrently.skipIf(!haveParser)(
    "a worker SIGKILLed under traffic: /metrics exact, never going back; ids unique across restarts; restarts counted",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--workers", "2", "--http-port", "0"],
      ]);
      const http = await httpPortOf(server);
      const payload = randomBytes(10_000);
      const round = (n: number) =>
        Promise.all(
          Array.from({ length: n }, async () => {
            expect(sha256(await echoOf(server.port, payload))).toBe(sha256(payload));
          }),
        );
      await round(20);
      // Open ones too: what they sent and got back counts as well.
      const open = await idleClients(server.port, 4); // "idle i\n": 7 bytes each
      const [victim] = workersOf(server.proc.pid);
      process.kill(victim!, "SIGKILL"); // at once: nothing was reported in between
      await server.err.waitFor("ended unexpectedly (signal SIGKILL)");
      await until(() => workersOf(server.proc.pid).length === 2);
      const after = await scrape(http);
      expect(after.echo_connections_total).toBe(24);
      expect(after.echo_bytes_received_total).toBe(20 * 10_000 + 4 * 7);
      expect(after.echo_bytes_echoed_total).toBe(20 * 10_000 + 4 * 7);
      expect(after.echo_worker_restarts_total).toBe(1);
      expect(after.echo_connections_open).toBeLessThanOrEqual(4);
      await round(10);
      await until(() => server.out.count(/^#\d+ closed: 10,000 bytes echoed/) === 30);
      const later = await scrape(http);
      expect(later.echo_connections_total).toBe(34);
      expect(later.echo_bytes_received_total).toBe(30 * 10_000 + 4 * 7);
      expect(later.echo_bytes_echoed_total).toBe(30 * 10_000 + 4 * 7);
      for (const [name, value] of Object.entries(after))
        if (name.endsWith("_total")) expect(later[name]).toBeGreaterThanOrEqual(value);
      // Every connection its own id, the restarted worker's included.
      const ids = server.out.all.flatMap((l) => /^#(\d+) connected/.exec(l)?.[1] ?? []);
      expect(ids).toHaveLength(34);
      expect(new Set(ids).size).toBe(34);
      for (const peer of open) peer.close();
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      // The summary counts the killed worker's echo too: its clients had it.
      expect(server.out.all.at(-1)).toMatch(/^stopped: 34 connections, 300,028 bytes echoed,/);
    },
  );

  concurrently("GET /metrics with a request pipelined behind it is answered", async () => {
    const server = await startServer([
      "--mode",
      "concurrent",
      "--workers",
      "2",
      "--http-port",
      "0",
      "--quiet",
    ]);
    const http = await httpPortOf(server);
    const socket = connect(http, "127.0.0.1");
    socket.on("error", () => {}); // a reset shows as a missing answer below
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => socket.on("close", resolve));
    socket.write(
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    await ended;
    // The side port answers one request per connection and says so (`connection: close`), as
    // HTTP/1.1 allows: a pipelining client sends the rest again on a new connection. What
    // broke was the first answer itself, never sent with two workers.
    const text = Buffer.concat(chunks).toString();
    expect(text.match(/^HTTP\/1\.1 200/gm)).toHaveLength(1);
    expect(text.toLowerCase()).toContain("\r\nconnection: close\r\n");
    expect(text).toContain("echo_connections_total 0");
    expect(text).toMatch(/\necho_worker_restarts_total 0\n$/);
  });

  concurrently(
    "a stray ECHO_WORKER in the environment does not make a worker: the listening line, and it serves",
    async () => {
      const server = run("server.ts", ["--port", "0"], {
        env: { ECHO_WORKER: "1/2", ECHO_WORKER_PORT: "1", ECHO_WORKER_FILE: "/dev/null" },
      });
      expect(await until(() => server.out.count(/^listening on/) === 1, 10_000)).toBe(true);
      const port = Number(/:(\d+) /.exec(server.out.all[0]!)![1]);
      const peer = new Peer(port);
      expect(await roundTrip(peer, "oi\n")).toBe("oi\n");
      peer.finish();
      expect(await server.exited).toBe(0);
    },
  );

  concurrently(
    "the workers' shared files are in memory, never on disk: a container with no /tmp runs them",
    async () => {
      // A read-only root with no temporary folder, as in the image: TMPDIR names none.
      const env = { TMPDIR: "/nonexistent/tmp" };
      const server = await startServer(["--mode", "concurrent", "--workers", "2", "--quiet"], env);
      for (const worker of workersOf(server.proc.pid)) {
        const target = readlinkSync(`/proc/${worker}/fd/3`);
        expect(target).toStartWith("/memfd:echo-figures");
        expect(target).toEndWith(" (deleted)");
      }
      await goodClient(server, 1000); // still mapped by both: the figures go on
    },
  );
});
