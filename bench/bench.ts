#!/usr/bin/env bun
/**
 * bun run bench: how fast is this echo server, next to a plain Node.js one, on this machine?
 *
 *   $ bun run bench                       # our server and bench/node-echo.mjs, side by side
 *   $ bun run bench --scenarios pp100,stream1 --rounds 3 --svg bench.svg
 *   $ bun run bench --host 127.0.0.1 --port 7 --no-baseline      # any echo server
 *   $ bun run bench --scenarios udp64,udp1400 --floor              # UDP, with Bun's floor
 *   $ bun run bench --scenarios pp1,pp100 --transport tcp,unix     # TCP loopback and Unix
 *
 * It starts both servers on free loopback ports (ours in concurrent mode; for the udp scenarios
 * ours with --udp and bench/node-udp-echo.mjs), runs each scenario
 * against each in turn, checks every echoed byte, and prints a table with the ratio to the
 * baseline. Exit status: 0 all verified, 1 a byte lost or changed or a server failed, 2 usage.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  connects,
  Corrupt,
  datagrams,
  LOST_MS,
  idle,
  pingPong,
  stream,
  unreachable,
  type Live,
  type Measured,
} from "./load.ts";
import { median, percentile, svg, table, type Figure, type Row } from "./report.ts";
import { parseTool, UsageError } from "./cli.ts";
import type { Values } from "../src/cli/command-line.ts";
import * as v from "../src/cli/values.ts";
import {
  cpuSeconds,
  hasProc,
  processExists,
  settledRssBytes,
  startListening,
  StreamLines,
} from "../tests/support/processes.ts";

const ROOT = resolve(import.meta.dir, "..");
const DEFAULT_SCENARIOS =
  "pp1,pp100,pp1000,pp1x16k,pp100x16k,pp1000x16k,stream1,stream10,stream1g,connect,idle,udp64,udp1400";
const CONNECT_PARALLEL = 10;
const SCENARIO = /^(pp\d+(x\d+[kmg]?)?|stream\d+|stream1g|connect|idle|udp\d+k?)$/i;
const MAX_DATAGRAM = 65_507; // the largest UDP payload over IPv4
const TRANSPORTS = ["tcp", "unix"] as const;
type Transport = (typeof TRANSPORTS)[number];

// ---- command line -------------------------------------------------------------------------------
/** A list of values, each checked by `parse`. */
const list =
  <T>(parse: (text: string) => T) =>
  (text: string) =>
    text.split(",").filter(Boolean).map(parse);
const table_ = {
  scenarios: {
    arg: "LIST",
    default: DEFAULT_SCENARIOS,
    parse: list((s) => s),
    help: `comma-separated:
ppN[xSIZE]  N connections in ping-pong with SIZE-byte messages (64 B default)
streamN     N connections streaming for the duration, then half-close
stream1g    one connection, exactly --stream-bytes, then half-close
connect     connect, one round trip, close (${CONNECT_PARALLEL} at a time)
idle        --idle connections open after one round trip: server KB each
udpSIZE     UDP: --udp-sockets connected sockets, each with --window SIZE-byte
            datagrams in flight; a datagram lost is counted, a changed one fails`,
  },
  duration: {
    arg: "SECS",
    default: "2",
    parse: v.seconds,
    help: "seconds per scenario and server, plus 20% warm-up",
  },
  rounds: {
    arg: "N",
    default: "1",
    parse: v.count,
    help: "repeat, alternating the order of the servers; medians and the spread; idle is measured in the first round only, on fresh servers",
  },
  idle: { arg: "N", default: "10000", parse: v.count, help: "connections for the idle scenario" },
  streamBytes: {
    arg: "BYTES",
    default: "1024m",
    parse: (text: string) => v.bytes(text, 2 ** 40),
    help: "bytes for stream1g (1024m = 1 GiB; k, m and g suffixes)",
  },
  workers: {
    arg: "LIST",
    default: "1",
    parse: list((w) => String(v.workers(w))),
    help: "our server's --workers, one column each: 1,2",
  },
  udpSockets: {
    arg: "N",
    default: "4",
    parse: v.count,
    help: "connected UDP sockets for the udp scenarios",
  },
  window: {
    arg: "N",
    default: "16",
    parse: v.count,
    help: `datagrams in flight per UDP socket; one with no echo after ${LOST_MS} ms is lost (counted)`,
  },
  transport: {
    arg: "LIST",
    default: "tcp",
    parse: list((t) => t as Transport),
    help: "the TCP scenarios over tcp (loopback), unix (servers started with --unix on a temporary path; columns NAME-unix), or both: tcp,unix",
  },
  proxyProtocol: {
    help: "also run our server with --proxy-protocol, every connection starting with a PROXY v1 header: column ours-proxy (its cost)",
  },
  floor: {
    help: "also run the least a Bun echo server can do (bench/floor-echo.ts, bench/floor-udp-echo.ts): column floor",
  },
  host: {
    arg: "HOST",
    parse: v.host,
    help: "with --port: measure the echo server already there (TCP, and UDP for the udp scenarios)",
  },
  port: { arg: "PORT", parse: v.clientPort, help: "instead of ours" },
  unix: {
    arg: "PATH",
    parse: v.path,
    help: "measure the echo server already listening on this Unix socket (TCP scenarios)",
  },
  pid: {
    arg: "PID",
    parse: v.count,
    help: "that server's process, for its CPU and memory (Linux)",
  },
  noBaseline: {
    help: "skip the Node.js baseline (bench/node-echo.mjs); ratios are then to the first of --workers",
  },
  serverLog: {
    help: "our server without --quiet: a line per message makes it CPU-bound, the load generator has CPU to spare, and --workers 1,2 shows the gain",
  },
  json: { help: "results as JSON on stdout (the table goes to stderr)" },
  svg: {
    arg: "FILE",
    parse: (text: string) => text,
    help: "also draw the results as an SVG chart",
  },
} as const;

type BenchValues = Values<typeof table_>;

function checkTransports(transports: Transport[]): void {
  for (const t of transports)
    if (!TRANSPORTS.includes(t)) throw new UsageError(`--transport: tcp or unix, not "${t}"`);
  if (transports.length === 0) throw new UsageError("--transport needs tcp, unix or both");
}

/** Each scenario's name, and the size of its messages or datagrams. */
function checkScenarios(scenarios: string[]): void {
  for (const s of scenarios) if (!SCENARIO.test(s)) throw new UsageError(`unknown scenario "${s}"`);
  for (const s of scenarios) {
    const size = /x(\d+[kmg]?)$/i.exec(s)?.[1];
    try {
      if (size) v.bytes(size);
    } catch {
      throw new UsageError(`scenario ${s}: messages of 1 byte to 1g`);
    }
  }
  for (const s of scenarios) {
    const size = /^udp(\d+k?)$/i.exec(s)?.[1];
    if (size && !(v.bytes(size) >= 4 && v.bytes(size) <= MAX_DATAGRAM))
      throw new UsageError(`scenario ${s}: datagrams of 4 to ${MAX_DATAGRAM} bytes`);
  }
}

/**
 * The scenarios the target can run: by default, those it cannot are left out; asked for by
 * name, they are a usage error.
 */
function scenariosThatApply(o: BenchValues, defaulted: boolean): string[] {
  let scenarios = o.scenarios;
  const targeted = o.port !== undefined || o.unix !== undefined;
  if (o.unix !== undefined && o.port === undefined && scenarios.some((s) => /^udp/i.test(s))) {
    // A Unix stream socket carries no datagrams.
    if (!defaulted)
      throw new UsageError("the udp scenarios need --host and --port (a UDP echo there)");
    scenarios = scenarios.filter((s) => !/^udp/i.test(s));
  }
  if (targeted && o.pid === undefined && scenarios.includes("idle")) {
    // Memory needs the process.
    if (!defaulted)
      throw new UsageError("the idle scenario against --host/--port needs --pid (its memory)");
    scenarios = scenarios.filter((s) => s !== "idle");
  }
  if (scenarios.length === 0) throw new UsageError("--scenarios needs at least one scenario");
  return scenarios;
}

/** The servers: the bench's own, or one already there (and its process, for its memory). */
function checkTargets(o: BenchValues, given: Set<keyof BenchValues>): void {
  const targeted = o.port !== undefined || o.unix !== undefined;
  if ((o.host === undefined) !== (o.port === undefined))
    throw new UsageError("--host and --port go together");
  if (o.pid !== undefined && !targeted)
    throw new UsageError(
      "--pid goes with --host and --port or --unix (the bench knows the servers it starts)",
    );
  if (targeted && (given.has("transport") || o.floor))
    throw new UsageError(
      "--transport and --floor choose the servers the bench starts, not --host/--port or --unix",
    );
  if (o.transport.includes("unix") && o.workers.some((w) => w !== "1"))
    throw new UsageError("--transport unix serves one process: --workers is for tcp only");
  if (o.pid !== undefined && !processExists(o.pid))
    throw new UsageError(`--pid ${o.pid}: no such process`);
  if (o.svg !== undefined) {
    const folder = dirname(resolve(o.svg));
    if (!existsSync(folder) || !statSync(folder).isDirectory())
      throw new UsageError(`--svg ${o.svg}: no folder ${folder}`);
  }
}

const options = parseTool(
  "bench",
  table_,
  Bun.argv.slice(2),
  {
    intro:
      "How fast is this echo server, next to a plain Node.js one, on this machine?\nEvery echoed byte is checked. Loopback servers it starts are stopped at the end.",
    outro:
      "Exit status: 0 every echo verified, 1 a byte lost or changed or a server failed,\n2 usage.",
  },
  (o, given) => {
    checkTransports(o.transport);
    checkScenarios(o.scenarios);
    o.scenarios = scenariosThatApply(o, !given.has("scenarios"));
    checkTargets(o, given);
    return {
      scenarios: o.scenarios,
      seconds: o.duration,
      rounds: o.rounds,
      idle: o.idle,
      streamBytes: o.streamBytes,
      workers: o.workers,
      target:
        o.host === undefined || o.port === undefined ? undefined : { host: o.host, port: o.port },
      unixTarget: o.unix,
      transports: [...new Set(o.transport)],
      udpSockets: o.udpSockets,
      window: o.window,
      floor: o.floor,
      proxyProtocol: o.proxyProtocol,
      pid: o.pid,
      baseline: !o.noBaseline,
      serverLog: o.serverLog,
      json: o.json,
      svgFile: o.svg,
    };
  },
);

// ---- the servers under test ---------------------------------------------------------------------
interface Server {
  name: string;
  transport: Transport | "udp";
  host: string;
  port: number;
  unix?: string; // a Unix socket's path: the stream scenarios connect there
  proxy?: boolean; // the load sends a PROXY v1 header first on each connection
  pid?: number;
  process?: Bun.Subprocess;
  describe: string;
}

const started: Bun.Subprocess[] = [];
/** Starts a server that prints "listening on HOST:PORT" and returns once it does. */
async function start(
  name: string,
  cmd: string[],
  describe: string,
  transport: "tcp" | "udp" = "tcp",
): Promise<Server> {
  const s = await startListening(cmd, { cwd: ROOT });
  started.push(s.process);
  describe = describe.replace(/ --port 0\b/, ` --port ${s.port}`).replace(/ 0$/, ` ${s.port}`);
  const { host, port, process } = s;
  return { name, transport, host, port, pid: process.pid, process, describe };
}
/** Unix sockets of the servers the bench starts, in a folder of their own, removed at the end. */
let socketDir: string | undefined;
function socketPath(name: string): string {
  socketDir ??= mkdtempSync(join(tmpdir(), "echo-bench-"));
  return join(socketDir, `${name}.sock`);
}
/** Starts a server on a Unix socket at `path`: returns once it prints "listening on PATH". */
async function startUnix(name: string, cmd: string[], path: string, describe: string) {
  const child = Bun.spawn(cmd, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  started.push(child);
  const out = new StreamLines(child.stdout);
  const timeout = Bun.sleep(30_000).then(() => {
    throw new Error(`${cmd.join(" ")} did not start (silent for 30 s)`);
  });
  await Promise.race([out.waitFor(/^listening on \//), timeout]);
  const server: Server = { name, transport: "unix", host: "", port: 0, unix: path, describe };
  return { ...server, pid: child.pid, process: child };
}
function stopAll(): void {
  for (const child of started) if (child.exitCode === null) child.kill("SIGTERM");
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  stopAll();
  process.exit(130);
});

function nodeCommand(): { cmd: string[]; describe: string } {
  const node = Bun.which("node");
  if (node) {
    const version = Bun.spawnSync([node, "--version"]).stdout.toString().trim();
    return { cmd: [node], describe: `Node.js ${version} net, bench/node-echo.mjs` };
  }
  return {
    cmd: [process.execPath],
    describe: "bench/node-echo.mjs under Bun's node:net (no node on PATH)",
  };
}

// ---- one scenario against one server ------------------------------------------------------------
interface Outcome {
  value: number;
  cpuPerOp?: number;
  latency?: { p50: number; p99: number; p999: number };
  lost?: { lost: number; sent: number }; // udp: datagrams with no echo, of those sent
}
interface Spec {
  name: string;
  /** Stream scenarios run on TCP and Unix sockets; udp ones on UDP servers. */
  transport: "stream" | "udp";
  unit: Unit;
  lowerIsBetter?: boolean;
  run(server: Server, live: Live): Promise<Outcome>;
}

function specFor(name: string): Spec {
  const [, udp] = /^udp(\d+k?)$/i.exec(name) ?? [];
  if (udp === undefined) return { transport: "stream", ...streamSpecFor(name) };
  const size = v.bytes(udp);
  const { udpSockets, window: depth, seconds } = options;
  return {
    transport: "udp",
    ...timed(
      name,
      "dg/s",
      (server, live) => datagrams(server, udpSockets, depth, size, seconds, live),
      (m) => m.ops,
      (m) => ({ lost: { lost: m.lost, sent: m.ops + m.lost } }),
    ),
  };
}

function streamSpecFor(name: string): Omit<Spec, "transport"> {
  const { seconds } = options;
  const pp = /^pp(\d+)(?:x(\d+[kmg]?))?$/i.exec(name);
  if (pp) {
    const conns = Number(pp[1]);
    const size = pp[2] ? v.bytes(pp[2]) : 64;
    const load = (server: Server, live: Live) => pingPong(server, conns, size, seconds, live);
    return timed(name, "rt/s", load, (m) => m.ops);
  }
  const megabytes = (m: Measured) => m.bytes / 1e6;
  if (name === "stream1g")
    return timed(
      "stream1g",
      "MB/s",
      (server, live) => stream(server, 1, seconds, options.streamBytes, live),
      megabytes,
    );
  const st = /^stream(\d+)$/.exec(name);
  if (st) {
    const conns = Number(st[1]);
    const load = (server: Server, live: Live) => stream(server, conns, seconds, Infinity, live);
    return timed(name, "MB/s", load, megabytes);
  }
  if (name === "connect")
    return timed(
      name,
      "conn/s",
      (server, live) => connects(server, CONNECT_PARALLEL, seconds, live),
      (m) => m.ops,
    );
  return {
    name: `idle${options.idle}`,
    unit: "KB/conn",
    lowerIsBetter: true,
    async run(server, live) {
      if (!hasProc || server.pid === undefined)
        throw new Error(hasProc ? "needs --pid to read the server's memory" : "needs Linux /proc");
      const pid = server.pid;
      const before = await settledRssBytes(pid);
      const during = await idle(server, options.idle, live, () => settledRssBytes(pid));
      return { value: (during - before) / 1024 / options.idle };
    },
  };
}

/**
 * A scenario measured by `load`: its figure is `work` per second of the window, with the
 * server's CPU per unit of work, the latencies, and `more` of its own.
 */
function timed<M extends Measured>(
  name: string,
  unit: Unit,
  load: (server: Server, live: Live) => Promise<M>,
  work: (m: M) => number,
  more: (m: M) => Partial<Outcome> = () => ({}),
): Omit<Spec, "transport"> {
  return {
    name,
    unit,
    async run(server, live) {
      const cpu0 = cpuSeconds(server.pid);
      const m = await load(server, live);
      return { ...withCpu(m, cpu0, server, work(m) / m.seconds, work(m)), ...more(m) };
    },
  };
}

function withCpu(m: Measured, cpu0: number, server: Server, value: number, work: number): Outcome {
  // CPU over the whole call includes the warm-up: scale to the measured share of the work.
  const cpu = cpuSeconds(server.pid) - cpu0;
  const latency = m.latencies && {
    p50: percentile(m.latencies, 50),
    p99: percentile(m.latencies, 99),
    p999: percentile(m.latencies, 99.9),
  };
  return {
    value,
    cpuPerOp:
      Number.isFinite(cpu) && work > 0 ? ((cpu * 1e6) / work) * (1 - WARMUP_SHARE) : undefined,
    latency,
  };
}
const WARMUP_SHARE = 0.2 / 1.2; // the warm-up's share of a timed run (see load.ts)

// ---- progress line, on a terminal only ----------------------------------------------------------
const tty = process.stderr.isTTY === true;
function progress(line: string): void {
  if (tty) process.stderr.write(`\r\x1b[K${line}`);
}
/** Status on stderr, uncoloured (Bun paints console.error red on a terminal: these are not errors). */
function note(text: string): void {
  process.stderr.write(`${text}\n`);
}
type Unit = "rt/s" | "MB/s" | "conn/s" | "KB/conn" | "dg/s";
const DONE: Record<Unit, (live: Live) => string> = {
  "rt/s": (live) => `${live.ops.toLocaleString("en-US")} round trips`,
  "MB/s": (live) =>
    `${(live.bytes / 1e6).toLocaleString("en-US", { maximumFractionDigits: 0 })} MB`,
  "conn/s": (live) => `${live.ops.toLocaleString("en-US")} connections`,
  "KB/conn": (live) => `${live.ops.toLocaleString("en-US")} connections open`,
  "dg/s": (live) => `${live.ops.toLocaleString("en-US")} datagrams`,
};

const formatValue = (n: number) =>
  n.toLocaleString("en-US", { maximumFractionDigits: n >= 100 ? 0 : 2 });

/** The units and columns explained once, under the table. */
function legend(rows: Row[], baseline: string | undefined, failed: boolean): string {
  const units = new Set(rows.map((r) => r.unit));
  const lines = [
    failed
      ? "Some runs FAILED (above): their figures are missing."
      : "Every echoed byte was checked against what was sent: all exact.",
  ];
  const meaning: Record<string, string> = {
    "rt/s": "rt/s: round trips per second (a message sent and its whole echo received)",
    "MB/s": "MB/s: megabytes (10^6 bytes) echoed and checked per second",
    "conn/s": "conn/s: connections per second (connect, one round trip, close)",
    "KB/conn": "KB/conn: server memory per idle connection (KiB, from /proc; lower is better)",
    "dg/s": `dg/s: datagrams per second echoed and checked (${options.udpSockets} UDP sockets × ${options.window} in flight); lost: no echo within ${LOST_MS} ms (UDP may lose; a changed datagram fails)`,
  };
  for (const unit of units) lines.push(`  ${meaning[unit]}`);
  for (const row of rows) {
    const lost = Object.entries(row.figures).flatMap(([name, f]) =>
      typeof f === "object" && f.lost
        ? [
            `${name} ${f.lost.lost.toLocaleString("en-US")} of ${f.lost.sent.toLocaleString("en-US")}`,
          ]
        : [],
    );
    if (lost.length) lines.push(`  ${row.scenario} datagrams lost: ${lost.join(", ")}`);
  }
  if (options.rounds > 1)
    lines.push(`  figures: the median of ${options.rounds} rounds, then (lowest-highest)`);
  if (rows.some((r) => Object.values(r.figures).some((f) => typeof f === "object" && f.latency)))
    lines.push("  p50/p99/p99.9 ms: round-trip time that half, 99% and 99.9% of round trips beat");
  const others = names().filter((name) => name !== baseline);
  const [only] = others;
  const x = others.length === 1 && only !== undefined ? only : "X";
  if (baseline)
    lines.push(
      `  ${x} vs ${baseline}: the figure of ${x} / that of ${baseline} (KB/conn: the other way round); above 1, ${x} did better`,
      `  cpu ${x} vs ${baseline}: ${baseline}'s server CPU time per unit of work / ${x}'s (from /proc);`,
      `    above 1, ${x} needed less CPU for the same work`,
    );
  return lines.join("\n");
}

// ---- the run ------------------------------------------------------------------------------------
const servers: Server[] = [];
/** The table's columns: a name can serve both kinds of scenario (ours over TCP and over UDP). */
const names = () => [...new Set(servers.map((s) => s.name))];
const fits = (spec: Spec, server: Server) =>
  (spec.transport === "udp") === (server.transport === "udp");
const placeOf = (s: Server) =>
  s.unix ??
  `${s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}${s.transport === "udp" ? " (UDP)" : ""}`;
let failed = false;
try {
  const specs = options.scenarios.map(specFor);
  const streams = specs.some((spec) => spec.transport === "stream");
  const udp = specs.some((spec) => spec.transport === "udp");
  const describe =
    options.pid === undefined
      ? "the server already listening (no --pid: its CPU and memory are not measured)"
      : `the server already listening, process ${options.pid}`;
  if (options.target || options.unixTarget) {
    const targets: Server[] = [];
    if (options.target && streams)
      targets.push({ name: "target", transport: "tcp", ...options.target, describe });
    if (options.unixTarget !== undefined && streams) {
      const name = options.target ? "target-unix" : "target";
      targets.push({
        name,
        transport: "unix",
        host: "",
        port: 0,
        unix: options.unixTarget,
        describe,
      });
    }
    for (const target of targets) {
      const why = await unreachable(target);
      if (why) {
        console.error(`error: nothing is listening at ${placeOf(target)} (${why})`);
        process.exit(1);
      }
    }
    if (options.target && udp)
      targets.push({ name: "target", transport: "udp", ...options.target, describe });
    servers.push(...targets.map((t) => ({ ...t, pid: options.pid })));
  } else {
    const quiet = options.serverLog ? [] : ["--quiet"];
    if (streams)
      for (const transport of options.transports)
        for (const w of options.workers) {
          const base = options.workers.length === 1 && w === "1" ? "ours" : `ours-w${w}`;
          const name = transport === "unix" ? `${base}-unix` : base;
          const extra = w === "1" ? [] : ["--workers", w];
          const path = transport === "unix" ? socketPath(name) : undefined;
          const cmd = [
            process.execPath,
            "server.ts",
            ...["--mode", "concurrent", ...quiet, "--lang", "en"],
            ...(path ? ["--unix", path] : ["--port", "0"]),
            ...["--idle-timeout", "0", "--max-connections", String(options.idle + 1000), ...extra],
          ];
          const line = `bun ${cmd.slice(1).join(" ")}`;
          servers.push(await (path ? startUnix(name, cmd, path, line) : start(name, cmd, line)));
        }
    if (streams && options.proxyProtocol) {
      const cmd = [process.execPath, "server.ts", "--mode", "concurrent", ...quiet, "--lang", "en"];
      cmd.push("--port", "0", "--idle-timeout", "0", "--proxy-protocol");
      const server = await start("ours-proxy", cmd, `bun ${cmd.slice(1).join(" ")}`);
      servers.push({ ...server, proxy: true });
    }
    if (udp) {
      const cmd = [process.execPath, "server.ts", "--udp", ...quiet, "--lang", "en", "--port", "0"];
      servers.push(await start("ours", cmd, `bun ${cmd.slice(1).join(" ")}`, "udp"));
    }
  }
  if (options.baseline) {
    const node = nodeCommand();
    if (streams)
      for (const transport of options.target || options.unixTarget ? [] : options.transports) {
        if (transport === "tcp")
          servers.push(
            await start("node", [...node.cmd, "bench/node-echo.mjs", "0"], node.describe),
          );
        else {
          const path = socketPath("node-unix");
          const cmd = [...node.cmd, "bench/node-echo.mjs", "--unix", path];
          servers.push(await startUnix("node-unix", cmd, path, `${node.describe}, --unix`));
        }
      }
    if ((options.target || options.unixTarget) && streams)
      servers.push(await start("node", [...node.cmd, "bench/node-echo.mjs", "0"], node.describe));
    if (udp) {
      const cmd = [...node.cmd, "bench/node-udp-echo.mjs", "0"];
      const what = node.describe.replace(
        " net, bench/node-echo.mjs",
        " dgram, bench/node-udp-echo.mjs",
      );
      servers.push(await start("node", cmd, what.replace("node:net", "node:dgram"), "udp"));
    }
  }
  if (options.floor) {
    const floor = "the least a Bun echo server can do (not for use)";
    if (streams && options.transports.includes("tcp"))
      servers.push(
        await start(
          "floor",
          [process.execPath, "bench/floor-echo.ts", "0"],
          `bun bench/floor-echo.ts 0: ${floor}`,
        ),
      );
    if (udp)
      servers.push(
        await start(
          "floor",
          [process.execPath, "bench/floor-udp-echo.ts", "0"],
          `bun bench/floor-udp-echo.ts 0: ${floor}`,
          "udp",
        ),
      );
  }
  // Ratios are to Node.js, or without it to the first server (--workers 1,2: two workers / one).
  const columns = names();
  const baseline = options.baseline ? "node" : columns.length > 1 ? columns[0] : undefined;
  // idle first, while every server is fresh: its memory figure is then not garbage from before.
  specs.sort((a, b) => Number(b.name.startsWith("idle")) - Number(a.name.startsWith("idle")));
  const results = new Map<string, Map<string, Outcome[] | string>>();

  // Every (round, scenario, server) run, for "k of n" in the progress; idle runs in round 1 only.
  const total = specs.reduce(
    (n, spec) =>
      n +
      servers.filter((s) => fits(spec, s)).length * (spec.unit === "KB/conn" ? 1 : options.rounds),
    0,
  );
  let step = 0;
  const rounds = options.rounds === 1 ? "1 round" : `${options.rounds} rounds`;
  note(
    [
      `echo bench: ${total} runs (${specs.length} scenarios × ${columns.length} servers, ${rounds}), ${options.seconds} s each plus 20% warm-up; Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`,
      ...servers.map((s) => `  ${s.name} at ${placeOf(s)}: ${s.describe}`),
      "  every echoed byte is compared with what was sent: one wrong or missing byte fails the run",
    ].join("\n"),
  );

  for (let round = 0; round < options.rounds; round++) {
    for (const spec of specs) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        if (!fits(spec, server)) continue;
        const byServer = results.get(spec.name) ?? new Map<string, Outcome[] | string>();
        results.set(spec.name, byServer);
        if (typeof byServer.get(server.name) === "string") continue; // failed once: enough
        // Memory is measured once, on fresh servers: later, garbage from the load blurs it.
        if (round > 0 && spec.unit === "KB/conn") continue;
        const live: Live = { ops: 0, bytes: 0 };
        const t0 = performance.now();
        const where = `${++step}/${total} · round ${round + 1}/${options.rounds} · ${spec.name} · ${server.name}`;
        const timer = setInterval(() => {
          const secs = (performance.now() - t0) / 1000;
          progress(`${where} · ${secs.toFixed(1)} s · ${DONE[spec.unit](live)}`);
        }, 250);
        try {
          const outcome = await spec.run(server, live);
          const list = byServer.get(server.name);
          byServer.set(server.name, [...((list as Outcome[] | undefined) ?? []), outcome]);
          if (!tty) note(`${where}: ${formatValue(outcome.value)} ${spec.unit}`);
        } catch (error) {
          failed = true;
          const why =
            error instanceof Corrupt
              ? `echo wrong: ${error.message}`
              : String((error as Error).message ?? error);
          byServer.set(server.name, why);
          progress("");
          console.error(`FAILED: ${spec.name} against ${server.name}: ${why}`);
        } finally {
          clearInterval(timer);
        }
        if (server.process && server.process.exitCode !== null) {
          failed = true;
          throw new Error(
            `${server.name} server exited (code ${server.process.exitCode}) during ${spec.name}`,
          );
        }
      }
    }
  }
  progress("");

  const rows: Row[] = specs.map((spec) => {
    const figures: Record<string, Figure | string> = {};
    for (const [name, outcomes] of results.get(spec.name) ?? []) {
      if (typeof outcomes === "string") {
        figures[name] = outcomes;
        continue;
      }
      const values = outcomes.map((o) => o.value);
      const cpus = outcomes.flatMap((o) => (o.cpuPerOp === undefined ? [] : [o.cpuPerOp]));
      const lats = outcomes.flatMap((o) => (o.latency ? [o.latency] : []));
      const losses = outcomes.flatMap((o) => (o.lost ? [o.lost] : []));
      figures[name] = {
        value: median(values),
        spread: [Math.min(...values), Math.max(...values)],
        cpuPerOp: cpus.length ? median(cpus) : undefined,
        latency: lats.length
          ? {
              p50: median(lats.map((l) => l.p50)),
              p99: median(lats.map((l) => l.p99)),
              p999: median(lats.map((l) => l.p999)),
            }
          : undefined,
        lost: losses.length
          ? {
              lost: losses.reduce((n, l) => n + l.lost, 0),
              sent: losses.reduce((n, l) => n + l.sent, 0),
            }
          : undefined,
      };
    }
    return { scenario: spec.name, unit: spec.unit, lowerIsBetter: spec.lowerIsBetter, figures };
  });
  const printed = table(rows, columns, baseline);
  if (options.json) {
    note(printed);
    console.log(
      JSON.stringify(
        {
          ok: !failed,
          bun: Bun.version,
          cores: navigator.hardwareConcurrency,
          seconds: options.seconds,
          rounds: options.rounds,
          servers: servers.map(({ name, transport, describe, host, port, unix }) => ({
            name,
            transport,
            describe,
            ...(unix === undefined ? { host, port } : { unix }),
          })),
          baseline,
          rows,
        },
        null,
        2,
      ),
    );
  } else console.log(printed);
  note(legend(rows, baseline, failed));
  if (options.svgFile) {
    const title = `echo bench, Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, ${options.seconds} s × ${options.rounds} round${options.rounds === 1 ? "" : "s"}`;
    await Bun.write(options.svgFile, svg(rows, columns, title));
    note(`chart written to ${options.svgFile}`);
  }
} catch (error) {
  failed = true;
  progress("");
  console.error(`error: ${(error as Error).message}`);
} finally {
  stopAll();
}
process.exit(failed ? 1 : 0);
