#!/usr/bin/env bun
/**
 * bun run bench: how fast is this echo server, next to a plain Node.js one, on this machine?
 *
 *   $ bun run bench                       # our server and bench/node-echo.mjs, side by side
 *   $ bun run bench --scenarios pp100,stream1 --rounds 3 --svg bench.svg
 *   $ bun run bench --host 127.0.0.1 --port 7 --no-baseline      # any echo server
 *
 * It starts both servers on free loopback ports (ours in concurrent mode), runs each scenario
 * against each in turn, checks every echoed byte, and prints a table with the ratio to the
 * baseline. Exit status: 0 all verified, 1 a byte lost or changed or a server failed, 2 usage.
 */
import { parseArgs } from "node:util";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { connects, Corrupt, idle, pingPong, stream, type Live, type Measured } from "./load.ts";
import { median, percentile, svg, table, type Figure, type Row } from "./report.ts";
import { BadValue, bytes } from "../src/values.ts";
import { UsageError } from "../src/command-line.ts";

const ROOT = resolve(import.meta.dir, "..");
const DEFAULT_SCENARIOS =
  "pp1,pp100,pp1000,pp1x16k,pp100x16k,pp1000x16k,stream1,stream10,stream1g,connect,idle";
const DEFAULT_SECONDS = 2; // per scenario, per server, per round (plus 20% warm-up)
const DEFAULT_IDLE = 10_000;
const DEFAULT_STREAM_BYTES = "1024m"; // the fixed run: exactly this much, then a half-close
const CONNECT_PARALLEL = 10;
const USAGE = `usage: bun run bench [options]
  --scenarios LIST   comma-separated (default ${DEFAULT_SCENARIOS})
                     ppN[xSIZE]  N connections in ping-pong with SIZE-byte messages (64 B default)
                     streamN     N connections streaming for the duration, then half-close
                     stream1g    one connection, exactly --stream-bytes, then half-close
                     connect     connect, one round trip, close (${CONNECT_PARALLEL} at a time)
                     idle        --idle connections open after one round trip: server KB each
  --duration S       seconds per scenario and server (default ${DEFAULT_SECONDS}), plus 20% warm-up
  --rounds N         repeat, alternating the order of the servers; medians (default 1);
                     idle is measured in the first round only, on fresh servers
  --idle N           connections for the idle scenario (default ${DEFAULT_IDLE})
  --stream-bytes B   bytes for stream1g (default 1024m = 1 GiB; k and m suffixes)
  --workers LIST     our server's --workers, one column each: 1,2 (default 1)
  --host H --port P  measure the echo server already listening there instead of ours
  --pid PID          that server's process, for its CPU and memory (Linux)
  --no-baseline      skip the Node.js baseline (bench/node-echo.mjs); ratios are then
                     to the first of --workers
  --server-log       our server without --quiet: a line per message makes it CPU-bound,
                     the load generator has CPU to spare, and --workers 1,2 shows the gain
  --json             results as JSON on stdout (the table goes to stderr)
  --svg FILE         also draw the results as an SVG chart
Loopback servers it starts are stopped at the end. Exit: 0 verified, 1 failed, 2 usage.`;

// ---- command line -------------------------------------------------------------------------------
/** A size for NAME, or a usage error naming it. */
const parseBytes = (text: string, name: string) => {
  try {
    return bytes(text, 2 ** 40);
  } catch (error) {
    if (error instanceof BadValue)
      throw new UsageError(`${name} must be a size such as 64k or 1g, not "${text}"`);
    throw error;
  }
};
const options = (() => {
  try {
    const { values } = parseArgs({
      args: Bun.argv.slice(2),
      strict: true,
      options: {
        scenarios: { type: "string", default: DEFAULT_SCENARIOS },
        duration: { type: "string", default: String(DEFAULT_SECONDS) },
        rounds: { type: "string", default: "1" },
        idle: { type: "string", default: String(DEFAULT_IDLE) },
        "stream-bytes": { type: "string", default: DEFAULT_STREAM_BYTES },
        workers: { type: "string", default: "1" },
        host: { type: "string" },
        port: { type: "string" },
        pid: { type: "string" },
        "no-baseline": { type: "boolean" },
        "server-log": { type: "boolean" },
        json: { type: "boolean" },
        svg: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const positive = (name: string, text: string, integer: boolean) => {
      const n = Number(text);
      if (!(n > 0) || (integer && !Number.isInteger(n)) || n > 1e6)
        throw new UsageError(
          `${name} must be a positive ${integer ? "whole " : ""}number, not "${text}"`,
        );
      return n;
    };
    const scenarios = values.scenarios.split(",").filter(Boolean);
    for (const s of scenarios)
      if (!/^(pp\d+(x\d+[kmg]?)?|stream\d+|stream1g|connect|idle)$/i.test(s))
        throw new UsageError(`unknown scenario "${s}" (see --help)`);
    if ((values.host === undefined) !== (values.port === undefined))
      throw new UsageError("--host and --port go together");
    const workers = values.workers
      .split(",")
      .map((w) => (w === "auto" ? w : String(positive("--workers", w, true))));
    return {
      scenarios,
      seconds: positive("--duration", values.duration, false),
      rounds: positive("--rounds", values.rounds, true),
      idle: positive("--idle", values.idle, true),
      streamBytes: parseBytes(values["stream-bytes"], "--stream-bytes"),
      workers,
      target:
        values.port === undefined
          ? undefined
          : { host: values.host!, port: Number(positive("--port", values.port, true)) },
      pid: values.pid === undefined ? undefined : positive("--pid", values.pid, true),
      baseline: values["no-baseline"] !== true,
      serverLog: values["server-log"] === true,
      json: values.json === true,
      svgFile: values.svg,
    };
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();

// ---- the servers under test ---------------------------------------------------------------------
interface Server {
  name: string;
  host: string;
  port: number;
  pid?: number;
  process?: Bun.Subprocess;
  describe: string;
}

/** Starts a server that prints "listening on HOST:PORT" and returns once it does. */
async function start(name: string, cmd: string[], describe: string): Promise<Server> {
  const child = Bun.spawn(cmd, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  started.push(child);
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Bun.sleep(30_000).then(() => undefined);
  while (true) {
    const next = await Promise.race([reader.read(), deadline]);
    if (next === undefined || next.done) throw new Error(`${name} server did not start: ${text}`);
    text += decoder.decode(next.value, { stream: true });
    const m = /listening on (\S+):(\d+)/.exec(text);
    if (m) {
      // Keep reading so a chatty server never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {});
      const host = m[1]!.replace(/^\[|\]$/g, "");
      return { name, host, port: Number(m[2]), pid: child.pid, process: child, describe };
    }
  }
}

const started: Bun.Subprocess[] = [];
function stopAll(): void {
  for (const child of started) if (child.exitCode === null) child.kill("SIGTERM");
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

// ---- measuring a server from the outside: /proc (Linux) ---------------------------------------
const hasProc = existsSync("/proc/self/stat");
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {} // it exited meanwhile
  }
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]!) ?? []));
  return all;
}
const TICKS = 100; // USER_HZ: 100 on every Linux Bun runs on
function cpuSeconds(pid: number | undefined): number {
  if (!hasProc || pid === undefined) return NaN;
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks / TICKS;
}
function rssKB(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {}
  }
  return kb;
}
/** RSS once it has stopped moving (two readings 200 ms apart within 1%), at most 3 s. */
async function settledRssKB(pid: number): Promise<number> {
  let last = rssKB(pid);
  for (let i = 0; i < 15; i++) {
    await Bun.sleep(200);
    const now = rssKB(pid);
    if (Math.abs(now - last) <= last * 0.01) return now;
    last = now;
  }
  return last;
}

// ---- one scenario against one server ------------------------------------------------------------
interface Outcome {
  value: number;
  cpuPerOp?: number;
  latency?: { p50: number; p99: number; p999: number };
}
interface Spec {
  name: string;
  unit: string;
  lowerIsBetter?: boolean;
  run(server: Server, live: Live): Promise<Outcome>;
}

function specFor(name: string): Spec {
  const pp = /^pp(\d+)(?:x(\d+[kmg]?))?$/i.exec(name);
  if (pp) {
    const conns = Number(pp[1]);
    const size = pp[2] ? parseBytes(pp[2], name) : 64;
    return {
      name,
      unit: "rt/s",
      async run(server, live) {
        const cpu0 = cpuSeconds(server.pid);
        const m = await pingPong(server, conns, size, options.seconds, live);
        return withCpu(m, cpu0, server, m.ops / m.seconds, m.ops);
      },
    };
  }
  if (name === "stream1g")
    return {
      name: `stream1g`,
      unit: "MB/s",
      async run(server, live) {
        const cpu0 = cpuSeconds(server.pid);
        const m = await stream(server, 1, options.seconds, options.streamBytes, live);
        return withCpu(m, cpu0, server, m.bytes / 1e6 / m.seconds, m.bytes / 1e6);
      },
    };
  const st = /^stream(\d+)$/.exec(name);
  if (st)
    return {
      name,
      unit: "MB/s",
      async run(server, live) {
        const cpu0 = cpuSeconds(server.pid);
        const m = await stream(server, Number(st[1]), options.seconds, Infinity, live);
        return withCpu(m, cpu0, server, m.bytes / 1e6 / m.seconds, m.bytes / 1e6);
      },
    };
  if (name === "connect")
    return {
      name,
      unit: "conn/s",
      async run(server, live) {
        const cpu0 = cpuSeconds(server.pid);
        const m = await connects(server, CONNECT_PARALLEL, options.seconds, live);
        return withCpu(m, cpu0, server, m.ops / m.seconds, m.ops);
      },
    };
  return {
    name: `idle${options.idle}`,
    unit: "KB/conn",
    lowerIsBetter: true,
    async run(server, live) {
      if (!hasProc || server.pid === undefined)
        throw new Error(hasProc ? "needs --pid to read the server's memory" : "needs Linux /proc");
      const pid = server.pid;
      const before = await settledRssKB(pid);
      const during = await idle(server, options.idle, live, () => settledRssKB(pid));
      return { value: (during - before) / options.idle };
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
const DONE: Record<string, (live: Live) => string> = {
  "rt/s": (live) => `${live.ops.toLocaleString("en-US")} round trips`,
  "MB/s": (live) =>
    `${(live.bytes / 1e6).toLocaleString("en-US", { maximumFractionDigits: 0 })} MB`,
  "conn/s": (live) => `${live.ops.toLocaleString("en-US")} connections`,
  "KB/conn": (live) => `${live.ops.toLocaleString("en-US")} connections open`,
};

// ---- the run ------------------------------------------------------------------------------------
const servers: Server[] = [];
let failed = false;
try {
  if (options.target) {
    const { host, port } = options.target;
    servers.push({ name: "target", host, port, pid: options.pid, describe: `${host}:${port}` });
  } else {
    for (const w of options.workers) {
      const name = options.workers.length === 1 && w === "1" ? "ours" : `ours-w${w}`;
      const extra = w === "1" ? [] : ["--workers", w];
      const cmd = [
        process.execPath,
        "server.ts",
        ...["--mode", "concurrent", ...(options.serverLog ? [] : ["--quiet"]), "--lang", "en"],
        ...["--port", "0"],
        ...["--idle-timeout", "0", "--max-connections", String(options.idle + 1000), ...extra],
      ];
      servers.push(await start(name, cmd, `bun ${cmd.slice(1).join(" ")}`));
    }
  }
  if (options.baseline) {
    const node = nodeCommand();
    servers.push(await start("node", [...node.cmd, "bench/node-echo.mjs", "0"], node.describe));
  }
  // Ratios are to Node.js, or without it to the first server (--workers 1,2: two workers / one).
  const baseline = options.baseline ? "node" : servers.length > 1 ? servers[0]!.name : undefined;
  const specs = options.scenarios.map(specFor);
  // idle first, while every server is fresh: its memory figure is then not garbage from before.
  specs.sort((a, b) => Number(b.name.startsWith("idle")) - Number(a.name.startsWith("idle")));
  const results = new Map<string, Map<string, Outcome[] | string>>();

  const header = [
    `echo bench: ${options.rounds} round(s), ${options.seconds} s per scenario and server, Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`,
    ...servers.map((s) => `  ${s.name}: ${s.describe} on ${s.host}:${s.port}`),
  ].join("\n");
  note(header);

  for (let round = 0; round < options.rounds; round++) {
    for (const spec of specs) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const byServer = results.get(spec.name) ?? new Map<string, Outcome[] | string>();
        results.set(spec.name, byServer);
        if (typeof byServer.get(server.name) === "string") continue; // failed once: enough
        // Memory is measured once, on fresh servers: later, garbage from the load blurs it.
        if (round > 0 && spec.unit === "KB/conn") continue;
        const live: Live = { ops: 0, bytes: 0 };
        const t0 = performance.now();
        const timer = setInterval(() => {
          const secs = (performance.now() - t0) / 1000;
          const done = DONE[spec.unit]!(live);
          progress(
            `round ${round + 1}/${options.rounds} · ${spec.name} · ${server.name} · ${secs.toFixed(1)} s · ${done}`,
          );
        }, 250);
        try {
          const outcome = await spec.run(server, live);
          const list = byServer.get(server.name);
          byServer.set(server.name, [...((list as Outcome[] | undefined) ?? []), outcome]);
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
      };
    }
    return { scenario: spec.name, unit: spec.unit, lowerIsBetter: spec.lowerIsBetter, figures };
  });
  const names = servers.map((s) => s.name);
  const printed = table(rows, names, baseline);
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
          servers: servers.map(({ name, describe, host, port }) => ({
            name,
            describe,
            host,
            port,
          })),
          baseline,
          rows,
        },
        null,
        2,
      ),
    );
  } else console.log(printed);
  if (options.svgFile) {
    const title = `echo bench, Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, ${options.seconds} s × ${options.rounds}`;
    await Bun.write(options.svgFile, svg(rows, names, title));
    note(`chart written to ${options.svgFile}`);
  }
} catch (error) {
  failed = true;
  progress("");
  console.error(`bench: ${(error as Error).message}`);
} finally {
  stopAll();
}
process.exit(failed ? 1 : 0);
