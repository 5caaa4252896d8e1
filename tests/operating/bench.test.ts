/** bun run bench: every scenario kind against our server and the Node.js baseline, verified. */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { Outbox } from "../../src/common/outbox.ts";
import { BUN, concurrently, freePort, have, onTerminal, run } from "../helpers.ts";

// Usage and errors first, quick, side by side with the runs below (one group).

const USAGE_ERRORS: [string[], string][] = [
  [["--scenarios", "pingpong"], 'unknown scenario "pingpong"'],
  [["--duration", "abc"], '--duration must be a positive number of seconds, not "abc"'],
  [["--pid", "4194304", "--host", "127.0.0.1", "--port", "9"], "--pid 4194304: no such process"],
  [
    ["--svg", "/nonexistent-echo-folder/chart.svg"],
    "--svg /nonexistent-echo-folder/chart.svg: no folder /nonexistent-echo-folder",
  ],
  [["--host", "127.0.0.1"], "--host and --port go together"],
  [["--transport", "udp"], '--transport: tcp or unix, not "udp"'],
  [["--scenarios", "udp2"], "scenario udp2: datagrams of 4 to 65507 bytes"],
  [["--scenarios", "udp70000"], "scenario udp70000: datagrams of 4 to 65507 bytes"],
  [
    ["--unix", "/tmp/x.sock", "--scenarios", "udp64"],
    "the udp scenarios need --host and --port (a UDP echo there)",
  ],
  [
    ["--unix", "/tmp/x.sock", "--floor"],
    "--transport and --floor choose the servers the bench starts, not --host/--port or --unix",
  ],
  [
    ["--transport", "unix", "--workers", "1,2"],
    "--transport unix serves one process: --workers is for tcp only",
  ],
];
concurrently.each(USAGE_ERRORS)(
  "bench %p: one line, exit 2, before running anything",
  async (args, message) => {
    const child = run("bench/bench.ts", args);
    expect(await child.exited).toBe(2);
    expect(child.err.all).toEqual([`error: ${message} (see: bun run bench --help)`]);
    expect(child.out.text).toBe("");
  },
);

concurrently("nothing listening at --host/--port: one line, exit 1", async () => {
  const port = freePort();
  const child = run("bench/bench.ts", ["--host", "127.0.0.1", "--port", String(port)]);
  expect(await child.exited).toBe(1);
  expect(child.err.all).toEqual([
    `error: nothing is listening at 127.0.0.1:${port} (connection refused)`,
  ]);
});

concurrently("--help: the options and exit status, exit 0", async () => {
  const child = run("bench/bench.ts", ["--help"]);
  expect(await child.exited).toBe(0);
  expect(child.out.all[0]).toBe("Usage: bun run bench [options]");
  expect(child.out.all.filter((line) => line.length > 80)).toEqual([]); // the default list too
  for (const flag of ["--scenarios", "--duration", "--rounds", "--pid", "--svg", "--json"])
    expect(child.out.text).toContain(flag);
});

concurrently.each([
  [["--seconds", "abc"], '--seconds must be a positive number of seconds, not "abc"'],
  [["--seconds", "0"], '--seconds must be a positive number of seconds, not "0"'],
  [["--clients", "x"], '--clients must be a whole number of at least 1, not "x"'],
  [["--port", "0"], '--port must be a whole number from 1 to 65535, not "0"'],
  [
    ["--host", "192.0.2.1"],
    "the soak runs against this machine only (127.0.0.1, ::1), not 192.0.2.1",
  ],
  [["--frobnicate"], "unknown option --frobnicate"],
])("soak %p: one line, exit 2, nothing run", async (args, message) => {
  const child = run("scripts/soak.ts", args);
  expect(await child.exited).toBe(2);
  expect(child.err.all).toEqual([`error: ${message} (see: bun run soak --help)`]);
  expect(child.out.text).toBe("");
});

concurrently("soak --help: usage and options on stdout, exit 0, no stack trace", async () => {
  const child = run("scripts/soak.ts", ["--help"]);
  expect(await child.exited).toBe(0);
  expect(child.out.all[0]).toBe("Usage: bun run soak [options]");
  for (const flag of ["--seconds", "--port", "--slow-readers", "--idle-timeout"])
    expect(child.out.text).toContain(flag);
  expect(child.err.text).toBe("");
});

// ---- runs, side by side (each mostly waits for its own processes) ------------------------------

concurrently(
  "a short soak: header first, progress while it runs, every kind counted, exit 0",
  async () => {
    const child = run("scripts/soak.ts", [
      "--seconds",
      "3",
      "--clients",
      "8",
      "--slow-readers",
      "2",
    ]);
    // The header comes before any result, and progress lines (a pipe, a short run: at half time)
    // during the run.
    await child.out.waitFor(/^soak: /);
    expect(child.out.all[0]).toMatch(/^soak: 3 sec against bun server.ts .*--idle-timeout 3/);
    await child.err.waitFor(
      /^ {2}1\.\d sec of 3 sec: [\d,.]+ MB verified, [\d,]+ exchanges, 0 failed, server [\d,.]+ MB$/,
    );
    expect(child.out.text).not.toContain("result:");
    expect(await child.exited).toBe(0);
    const out = child.out.text;
    expect(out).toContain("every echoed byte is compared with what was sent");
    expect(out).toMatch(/exact-echo clients: [1-9][\d,]* exact, 0 failed/);
    expect(out).toMatch(/slow readers: [1-9][\d,]* exact, 0 failed/);
    expect(out).toMatch(/connect\/drop storms of 50: [1-9][\d,]* complete, 0 failed/);
    expect(out).toMatch(/server exit status: 0 after SIGTERM/);
    expect(child.out.all.at(-1)).toBe("result: OK, every echo exact");
  },
  30_000,
); // 3 s of soak, up to 5 s more for the slow readers to finish

concurrently("runs each kind of scenario on both servers; --json and --svg; exit 0", async () => {
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
  // Piped: no live line, but a line per run, k of n. The table (stderr with --json) has the
  // ratio column, and the legend says every byte was checked; the chart names every scenario.
  expect(child.err.text).not.toContain("\r");
  expect(child.err.all[0]).toMatch(/^echo bench: 12 runs \(6 scenarios × 2 servers, 1 round\)/);
  expect(child.err.text).toMatch(/^1\/12 · round 1\/1 · idle300 · ours: [\d.,]+ KB\/conn$/m);
  expect(child.err.text).toMatch(/^12\/12 · round 1\/1 · connect · (ours|node): [\d,.]+ conn\/s$/m);
  expect(child.err.text).toContain(
    "Every echoed byte was checked against what was sent: all exact.",
  );
  expect(child.err.text).toContain("rt/s: round trips per second");
  expect(child.err.text).toMatch(/\| stream1g +\| MB\/s .*\| +\d+\.\d\d \|/);
  const svg = readFileSync(svgFile, "utf8");
  expect(svg).toStartWith("<svg");
  for (const name of ["pp2", "pp3x16k", "stream1g", "connect", "idle300"])
    expect(svg).toContain(name);
});

concurrently("one changed byte fails the run loudly, with its offset", async () => {
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

concurrently(
  "udp: our --udp server, Node's dgram and the floor, every datagram verified, losses shown; exit 0",
  async () => {
    const child = run("bench/bench.ts", [
      ...["--scenarios", "udp64,udp1400", "--duration", "0.25", "--floor", "--json"],
    ]);
    expect(await child.exited).toBe(0);
    const report = JSON.parse(child.out.text);
    expect(report.ok).toBe(true);
    expect(report.servers.map((s: { name: string; transport: string }) => s.transport)).toEqual([
      "udp",
      "udp",
      "udp",
    ]);
    expect(report.servers[0].describe).toContain("server.ts --udp --quiet");
    for (const row of report.rows)
      for (const server of ["ours", "node", "floor"]) {
        const figure = row.figures[server];
        expect(figure.value).toBeGreaterThan(0);
        expect(figure.latency.p99).toBeGreaterThan(0);
        expect(figure.lost.sent).toBeGreaterThan(figure.lost.lost);
      }
    expect(child.err.text).toMatch(/^ {2}udp64 datagrams lost: ours [\d,]+ of [\d,]+, /m);
    expect(child.err.text).toContain("dg/s: datagrams per second echoed and checked");
  },
);

concurrently(
  "udp: a server that changes one datagram fails the run, exit 1, naming the datagram",
  async () => {
    // A UDP echo that flips byte 10 of the 500th datagram it echoes.
    let n = 0;
    const server = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      binaryType: "buffer",
      socket: {
        data(socket, data: Buffer, port, address) {
          if (++n === 500) data[10]! ^= 0xff;
          socket.send(data, port, address);
        },
        error() {},
      },
    });
    try {
      const child = run("bench/bench.ts", [
        ...["--host", "127.0.0.1", "--port", String(server.port), "--no-baseline"],
        ...["--scenarios", "udp64", "--duration", "0.3"],
      ]);
      expect(await child.exited).toBe(1);
      expect(child.err.text).toMatch(
        /^FAILED: udp64 against target: echo wrong: socket \d, datagram \d+, byte 10: differs$/m,
      );
    } finally {
      server.close();
    }
  },
);

concurrently(
  "--transport tcp,unix: our server over TCP loopback and a Unix socket, side by side; socket files removed",
  async () => {
    const child = run("bench/bench.ts", [
      ...["--scenarios", "pp2,stream1", "--transport", "tcp,unix", "--no-baseline"],
      ...["--duration", "0.25", "--json"],
    ]);
    expect(await child.exited).toBe(0);
    const report = JSON.parse(child.out.text);
    expect(report.ok).toBe(true);
    expect(report.baseline).toBe("ours");
    const [tcp, unix] = report.servers;
    expect(tcp).toMatchObject({ name: "ours", transport: "tcp" });
    expect(unix).toMatchObject({ name: "ours-unix", transport: "unix" });
    expect(unix.describe).toContain(`--unix ${unix.unix}`);
    expect(existsSync(unix.unix)).toBe(false);
    for (const row of report.rows) {
      expect(row.figures.ours.value).toBeGreaterThan(0);
      expect(row.figures["ours-unix"].value).toBeGreaterThan(0);
    }
    expect(child.err.text).toMatch(/\| pp2 +\| rt\/s .*\| +\d+\.\d\d \|/); // ours-unix vs ours
  },
);

concurrently("--unix PATH: the echo server already listening there", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "echo-bench-unix-")), "echo.sock");
  using server = Bun.listen<Outbox>({
    unix: path,
    socket: {
      open(socket: Socket<Outbox>) {
        socket.data = new Outbox();
      },
      data(socket, chunk: Buffer) {
        socket.data.send(socket, chunk);
      },
      drain(socket) {
        socket.data.flush(socket);
      },
    },
  });
  expect(server.unix).toBe(path);
  const child = run("bench/bench.ts", [
    ...["--unix", path, "--no-baseline", "--scenarios", "pp2", "--duration", "0.25"],
  ]);
  expect(await child.exited).toBe(0);
  expect(child.err.text).toContain(`target at ${path}: the server already listening`);
  expect(child.out.text).toMatch(/\| pp2 +\| rt\/s +\| +[\d,.]+ \|/);
});

(have("script") ? concurrently : test.skip)(
  "on a terminal, a live progress line; the table at the end",
  async () => {
    const terminal = onTerminal(
      `${BUN} bench/bench.ts --scenarios pp2,stream1 --duration 0.6 --no-baseline`,
    );
    expect(await terminal.exited).toBe(0);
    const screen = terminal.screen;
    expect(screen).toMatch(
      /\r\x1b\[K1\/2 · round 1\/1 · pp2 · ours · \d\.\d s · [\d,]+ round trips/,
    );
    expect(screen).toMatch(/\r\x1b\[K2\/2 · round 1\/1 · stream1 · ours · \d\.\d s · [\d,]+ MB/);
    expect(screen).toMatch(/\| stream1 +\| MB\/s +\| +[\d,.]+ \|/); // 28.99 under 100 MB/s
  },
);

concurrently(
  "a soak against a server that cuts echoes short: failures counted by reason, exit 1",
  async () => {
    // An echo server that closes each connection after echoing 100,000 bytes.
    using server = Bun.listen<{ outbox: Outbox; echoed: number }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          socket.data = { outbox: new Outbox(), echoed: 0 };
        },
        data(socket, chunk: Buffer) {
          const d = socket.data;
          const piece = chunk.subarray(0, Math.max(0, 100_000 - d.echoed));
          d.echoed += piece.length;
          d.outbox.send(socket, piece);
          if (d.echoed >= 100_000 && d.outbox.empty) socket.end();
        },
        drain(socket) {
          if (socket.data.outbox.flush(socket) && socket.data.echoed >= 100_000) socket.end();
        },
      },
    });
    const child = run("scripts/soak.ts", [
      ...["--port", String(server.port), "--seconds", "1", "--clients", "4", "--slow-readers", "1"],
    ]);
    expect(await child.exited).toBe(1);
    const out = child.out.text;
    expect(out).toMatch(/slow readers: 0 exact, [1-9][\d,]* failed/);
    expect(out).toMatch(
      /^ {2}[\d,]+ × slow: (closed|reset) by the server after N of M bytes echoed$/m,
    );
    expect(out).toMatch(/^result: FAILED, [1-9][\d,]* failed exchange\(s\)$/m);
  },
);
