#!/usr/bin/env bun
/**
 * bun run soak: a minute (or more) of mixed traffic against the echo server, every byte checked.
 *
 *   bun run soak                      # 60 s against a server it starts (concurrent, quiet)
 *   bun run soak --seconds 300
 *   bun run soak --port 5000          # against a server you started (--pid for its memory)
 *
 * Clients (bench/load.ts, loopback only): exact-echo clients with random sizes and pieces; slow
 * readers that read several MB of echo at 64-512 KiB/s while the server runs with a short
 * --idle-timeout; clients that reset mid-echo; connect/drop storms. It prints what it runs
 * first, progress while it runs, and at the end the counts per kind, each failure by reason,
 * and the server's memory. Exit status: 0 every echo exact, 1 a failure, 2 usage.
 */
import { resolve } from "node:path";
import * as v from "../src/cli/values.ts";
import { parseTool, UsageError } from "../bench/cli.ts";
import { newTally, SLOW_RATE, soakClient, unreachable, type SoakKind } from "../bench/load.ts";
import {
  hasProc,
  processExists,
  rssBytes,
  settledRssBytes,
  startListening,
  type Started,
} from "../tests/support/processes.ts";

const ROOT = resolve(import.meta.dir, "..");
const MAX_SECONDS = 3600;
const table = {
  seconds: { arg: "SECS", default: "60", parse: v.seconds, help: "how long to run" },
  clients: {
    arg: "N",
    default: "32",
    parse: v.count,
    help: "clients besides the slow readers: of each 8, one resets mid-echo, one runs connect/drop storms, six check exact echoes",
  },
  slowReaders: {
    arg: "N",
    default: "4",
    parse: (text: string) => (/^\s*0+\s*$/.test(text) ? 0 : v.count(text)),
    help: "clients that read 2-6 MiB of echo at 64-512 KiB/s, in pieces with pauses",
  },
  idleTimeout: {
    arg: "SECS",
    default: "3",
    parse: v.secondsOrNever,
    help: "the --idle-timeout of the server it starts (slow readers must not be taken for idle)",
  },
  host: { arg: "HOST", default: "127.0.0.1", parse: v.host, help: "127.0.0.1 or ::1" },
  port: {
    arg: "PORT",
    parse: v.clientPort,
    help: "soak the server already listening there instead of starting one",
  },
  pid: { arg: "PID", parse: v.count, help: "that server's process, for its memory (Linux)" },
} as const;

const options = parseTool(
  "soak",
  table,
  Bun.argv.slice(2),
  {
    intro:
      "Soak: mixed traffic against the echo server for SECS seconds, every echoed byte\nchecked.",
    outro: "Exit status: 0 every echo exact, 1 a failure (counted by kind and reason),\n2 usage.",
  },
  (o) => {
    if (o.seconds > MAX_SECONDS) throw new UsageError(`--seconds must be at most ${MAX_SECONDS}`);
    if (o.clients > 1000) throw new UsageError("--clients must be at most 1000");
    if (o.slowReaders > 1000) throw new UsageError("--slow-readers must be at most 1000");
    if (!["127.0.0.1", "::1", "localhost"].includes(o.host))
      throw new UsageError(
        `the soak runs against this machine only (127.0.0.1, ::1), not ${o.host}`,
      );
    if (o.pid !== undefined && o.port === undefined)
      throw new UsageError("--pid goes with --port (the soak knows the server it starts)");
    if (o.pid !== undefined && !processExists(o.pid))
      throw new UsageError(`--pid ${o.pid}: no such process`);
    return o;
  },
);

// ---- formatting: Intl, en-US, with units --------------------------------------------------------
const fmt = (unit: string | undefined, digits = 0) =>
  new Intl.NumberFormat("en-US", {
    ...(unit ? { style: "unit", unit, unitDisplay: "short" } : {}),
    maximumFractionDigits: digits,
  }).format;
const count = fmt(undefined);
const mb = fmt("megabyte", 1);
const mbps = fmt("megabyte-per-second", 1);
const secs = fmt("second", 1);
const MB = 1e6;

// ---- the server under test ----------------------------------------------------------------------
let server: Started | undefined;
const stop = () => server?.process.kill("SIGTERM");
process.on("SIGINT", () => {
  stop();
  process.exit(130);
});
const host = options.host === "localhost" ? "127.0.0.1" : options.host;
let target = { host, port: options.port ?? 0 };
let describe: string;
let pid = options.pid;
if (options.port === undefined) {
  const args = ["--mode", "concurrent", "--quiet", "--lang", "en", "--host", host, "--port", "0"];
  args.push("--idle-timeout", String(options.idleTimeout));
  try {
    server = await startListening([process.execPath, "server.ts", ...args], { cwd: ROOT });
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  }
  target = { host: server.host, port: server.port };
  pid = server.process.pid;
  describe = `bun server.ts ${args.join(" ").replace("--port 0", `--port ${server.port}`)} (pid ${pid})`;
} else {
  const why = await unreachable(target);
  if (why) {
    console.error(`error: nothing is listening at ${host}:${target.port} (${why})`);
    process.exit(1);
  }
  describe = `the server at ${host}:${target.port}${pid ? ` (pid ${pid})` : ""}`;
}
const memory = () => (pid !== undefined && hasProc ? rssBytes(pid, true) : NaN);

// ---- the clients --------------------------------------------------------------------------------
const kinds: SoakKind[] = [
  ...Array.from({ length: options.clients }, (_, i): SoakKind =>
    i % 8 === 1 ? "reset" : i % 8 === 2 ? "storm" : "exact",
  ),
  ...Array.from({ length: options.slowReaders }, (): SoakKind => "slow"),
];
const howMany = (kind: SoakKind) => kinds.filter((k) => k === kind).length;
console.log(
  [
    `soak: ${secs(options.seconds)} against ${describe}`,
    `  ${howMany("exact")} exact-echo clients (random sizes up to 2 MiB, sent in random pieces)`,
    `  ${howMany("slow")} slow readers (2-6 MiB read at ${SLOW_RATE.min / 1024}-${SLOW_RATE.max / 1024} KiB/s: a pause after each piece the runtime hands over, up to 512 KiB)`,
    `  ${howMany("reset")} clients that reset mid-echo, ${howMany("storm")} running connect/drop storms of 50`,
    "  every echoed byte is compared with what was sent; each echo must end with the server's end of stream",
  ].join("\n"),
);

const tally = newTally();
const failures = () => Object.values(tally.failed).reduce((a, b) => a + b, 0);
const exchanges = () => Object.values(tally.ok).reduce((a, b) => a + b, 0) + failures();
const startMemory = memory();
const t0 = performance.now();
const deadline = t0 + options.seconds * 1000;

// Progress on stderr: a live line on a terminal; in a pipe a line every 5 s, and at half time
// in a run shorter than 10 s, so that every run shows one.
const tty = process.stderr.isTTY === true;
const pipeEveryMs = Math.min(5000, (options.seconds * 1000) / 2);
let lastLine = t0;
const ticker = setInterval(
  () => {
    const elapsed = (performance.now() - t0) / 1000;
    const line =
      `  ${secs(Math.min(elapsed, options.seconds))} of ${secs(options.seconds)}` +
      (elapsed > options.seconds ? " (finishing the last exchanges)" : "") +
      `: ${mb(tally.verified / MB)} verified, ${count(exchanges())} exchanges, ` +
      `${count(failures())} failed` +
      (Number.isNaN(startMemory) ? "" : `, server ${mb(memory() / MB)}`);
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (performance.now() - lastLine >= pipeEveryMs - 100) {
      lastLine = performance.now();
      process.stderr.write(`${line}\n`);
    }
  },
  tty ? 250 : Math.min(1000, pipeEveryMs / 2),
);
await Promise.all(kinds.map((kind) => soakClient(kind, target, deadline, tally)));
clearInterval(ticker);
if (tty) process.stderr.write("\r\x1b[K");
const elapsed = (performance.now() - t0) / 1000;
const endMemory = pid !== undefined && hasProc ? await settledRssBytes(pid).catch(() => NaN) : NaN;

// ---- the server's exit ---------------------------------------------------------------------------
let exit: string | undefined;
let serverFailed = false;
if (server) {
  const died = server.process.exitCode;
  if (died !== null) {
    exit = `exited by itself during the soak (status ${died})`;
    serverFailed = true;
  } else {
    stop();
    const code = await Promise.race([server.process.exited, Bun.sleep(10_000).then(() => null)]);
    if (code === null) server.process.kill("SIGKILL");
    exit = code === null ? "still running 10 s after SIGTERM (killed)" : `${code} after SIGTERM`;
    serverFailed = code !== 0;
  }
}

// ---- the report ---------------------------------------------------------------------------------
const line = (label: string, kind: SoakKind, what = "exact") =>
  `  ${label}: ${count(tally.ok[kind])} ${what}, ${count(tally.failed[kind])} failed`;
const report = [
  `soak: ran ${secs(elapsed)}`,
  `  bytes echoed and verified: ${mb(tally.verified / MB)} (${mbps(tally.verified / MB / elapsed)})`,
  line("exact-echo clients", "exact"),
  line("slow readers", "slow"),
  line("resets mid-echo", "reset", "exact up to the reset"),
  line("connect/drop storms of 50", "storm", "complete"),
  `  server memory: ${
    Number.isNaN(startMemory)
      ? "not measured (give --pid with --port)"
      : `${mb(startMemory / MB)} at the start, ${mb(endMemory / MB)} at the end`
  }`,
];
if (exit) report.push(`  server exit status: ${exit}`);
if (tally.failures.size) {
  report.push("failures, by reason:");
  const sorted = [...tally.failures].sort((a, b) => b[1] - a[1]);
  for (const [why, n] of sorted) report.push(`  ${count(n)} × ${why}`);
}
const ok = failures() === 0 && !serverFailed;
report.push(
  ok
    ? "result: OK, every echo exact"
    : `result: FAILED, ${count(failures())} failed exchange(s)${serverFailed ? " and the server's exit" : ""}`,
);
console.log(report.join("\n"));
process.exit(ok ? 0 : 1);
