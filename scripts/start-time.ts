#!/usr/bin/env bun
/**
 * Size and start time of the single-file executables, per build flag, against `bun server.ts`:
 * the time from spawning a server to its listening line on stdout (what a person, or a script
 * waiting to connect, waits for). Figures in bench/RESULTS.md, "Single-file executables".
 *
 *   bun scripts/start-time.ts [--runs 30]
 *
 * Builds linux-x64 variants into a temporary folder; runs alternate between the variants so that
 * a slow moment of the machine is spread over all of them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile, type Flags } from "./build.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values } = parseArgs({ args: Bun.argv.slice(2), options: { runs: { type: "string" } } });
const runs = Number(values.runs ?? 30);

const VARIANTS: Record<string, Flags> = {
  plain: { minify: false, bytecode: false, baseline: false },
  minify: { minify: true, bytecode: false, baseline: false },
  bytecode: { minify: false, bytecode: true, baseline: false },
  "minify + bytecode": { minify: true, bytecode: true, baseline: false },
  "minify + bytecode + baseline": { minify: true, bytecode: true, baseline: true },
};

const dir = await mkdtemp(join(tmpdir(), "echo-start-"));
const commands: Record<string, { argv: string[]; size?: number }> = {
  "bun run server (the README's way, from the project's folder)": {
    argv: [process.execPath, "run", "server"],
  },
  "bun server.ts": { argv: [process.execPath, join(ROOT, "server.ts")] },
  "node bench/node-echo.mjs (a bare Node.js server, for scale)": {
    argv: ["node", join(ROOT, "bench/node-echo.mjs")],
  },
};
for (const [name, flags] of Object.entries(VARIANTS)) {
  const file = await compile("server", "linux-x64", join(dir, name.replace(/\W+/g, "-")), flags);
  commands[`executable, ${name}`] = { argv: [file], size: Bun.file(file).size };
}

/** Milliseconds from spawn to a stdout line starting with "listening on". */
async function startOnce(argv: string[]): Promise<number> {
  const args = argv[0] === "node" ? ["0"] : ["--port", "0", "--quiet"];
  const t0 = performance.now();
  const cwd = argv[1] === "run" ? ROOT : dir; // the executables start far from the sources
  const proc = Bun.spawn([...argv, ...args], { stdout: "pipe", stderr: "inherit", cwd });
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of proc.stdout) {
    text += decoder.decode(chunk, { stream: true });
    if (text.includes("listening on")) break;
  }
  const ms = performance.now() - t0;
  proc.kill();
  await proc.exited;
  if (!text.includes("listening on")) throw new Error(`${argv.join(" ")}: no listening line`);
  return ms;
}

const rows = Object.entries(commands).map(([name, c]) => ({ name, ...c, times: [] as number[] }));
for (const { argv } of rows) await startOnce(argv); // warm the page cache
for (let i = 0; i < runs; i++) for (const row of rows) row.times.push(await startOnce(row.argv));

const pick = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;
console.log(`| how the server starts | size | start to listening, median (p10-p90) |`);
console.log(`| --- | --- | --- |`);
for (const { name, size, times: xs } of rows) {
  const mib = size === undefined ? "" : `${(size / 2 ** 20).toFixed(1)} MiB`;
  const ms = (q: number) => pick(xs, q).toFixed(0);
  console.log(`| ${name} | ${mib} | ${ms(0.5)} ms (${ms(0.1)}-${ms(0.9)}) |`);
}
await rm(dir, { recursive: true });
