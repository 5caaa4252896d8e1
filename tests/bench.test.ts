/** bun run bench: every scenario kind against our server and the Node.js baseline, verified. */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { Outbox } from "../src/outbox.ts";
import { BUN, have, ROOT, run } from "./helpers.ts";

test("runs each kind of scenario on both servers; --json and --svg; exit 0", async () => {
  const svgFile = join(mkdtempSync(join(tmpdir(), "echo-bench-")), "chart.svg");
  const scenarios = "idle,pp2,pp3x16k,stream2,stream1g,connect";
  const child = run("bench/bench.ts", [
    ...["--scenarios", scenarios, "--duration", "0.25", "--idle", "300", "--stream-bytes", "8m"],
    ...["--json", "--svg", svgFile],
  ]);
  expect(await child.exited).toBe(0);
  const report = JSON.parse(child.out.text);
  expect(report.ok).toBe(true);
  expect(report.baseline).toBe("node");
  expect(report.rows.map((r: { scenario: string }) => r.scenario)).toEqual([
    "idle300",
    "pp2",
    "pp3x16k",
    "stream2",
    "stream1g",
    "connect",
  ]);
  for (const row of report.rows)
    for (const server of ["ours", "node"]) {
      const figure = row.figures[server];
      if (row.scenario === "idle300") expect(typeof figure.value).toBe("number");
      else expect(figure.value).toBeGreaterThan(0);
      if (row.scenario.startsWith("pp")) expect(figure.latency.p99).toBeGreaterThan(0);
    }
  // Piped: no progress line. The table (stderr with --json) has the ratio column; the chart
  // names every scenario.
  expect(child.err.text).not.toContain("\r");
  expect(child.err.text).toMatch(/\| stream1g +\| MB\/s .*\| +\d+\.\d\d \|/);
  const svg = readFileSync(svgFile, "utf8");
  expect(svg).toStartWith("<svg");
  for (const name of ["pp2", "pp3x16k", "stream1g", "connect", "idle300"])
    expect(svg).toContain(name);
});

test("one changed byte fails the run loudly, with its offset", async () => {
  // An echo server that changes the byte at offset 100,000 of each connection's stream.
  let received = 0;
  using server = Bun.listen<Outbox>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket: Socket<Outbox>) {
        socket.data = new Outbox();
      },
      data(socket, chunk: Buffer) {
        const at = 100_000 - received;
        received += chunk.length;
        if (at >= 0 && at < chunk.length) chunk[at]! ^= 0xff;
        socket.data.send(socket, chunk);
      },
      drain(socket) {
        socket.data.flush(socket);
      },
    },
  });
  const child = run("bench/bench.ts", [
    ...["--host", "127.0.0.1", "--port", String(server.port), "--no-baseline"],
    ...["--scenarios", "pp1x64k", "--duration", "0.3"],
  ]);
  expect(await child.exited).toBe(1);
  expect(child.err.text).toContain(
    "FAILED: pp1x64k against target: echo wrong: connection 0, byte offset 100000: differs",
  );
});

test("a usage error: one line and the usage, exit 2", async () => {
  const child = run("bench/bench.ts", ["--scenarios", "pingpong"]);
  expect(await child.exited).toBe(2);
  expect(child.err.all[0]).toBe('bench: unknown scenario "pingpong" (see --help)');
});

test.skipIf(!have("script"))(
  "on a terminal, a live progress line; the table at the end",
  async () => {
    const command = `${BUN} bench/bench.ts --scenarios pp2,stream1 --duration 0.6 --no-baseline`;
    const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "pipe",
      env: { ...process.env, TERM: "xterm" },
    });
    const screen = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(screen).toMatch(/\r\x1b\[Kround 1\/1 · pp2 · ours · \d\.\d s · [\d,]+ round trips/);
    expect(screen).toMatch(/\r\x1b\[Kround 1\/1 · stream1 · ours · \d\.\d s · [\d,]+ MB/);
    expect(screen).toMatch(/\| stream1 +\| MB\/s +\| +[\d,]+ \|/);
  },
);
