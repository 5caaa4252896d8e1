/** --workers N: N server processes on one port (SO_REUSEPORT), supervised by the parent. */
import { describe, expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  alive,
  BUN,
  childrenOf,
  concurrently,
  echoOf,
  goodClient,
  Peer,
  randomBytes,
  ROOT,
  run,
  runCommand,
  sha256,
  startServer,
  testServer,
  until,
} from "./helpers.ts";

/** The worker processes: the parent's direct children. */
const workersOf = childrenOf;

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
