#!/usr/bin/env bun
/**
 * bun run build: the server, the client and the probe as single-file executables, for machines with
 * neither Bun nor Node.js. Writes dist/echo-server-<target> and dist/echo-client-<target> (.exe
 * on Windows), and dist/SHA256SUMS for the files this run built.
 *
 *   bun run build                                 every target
 *   bun run build --target linux-x64,windows-x64  only these (a list, or the option repeated)
 *   bun run build --outdir /tmp/echo              somewhere else than dist/
 *
 * The Bun runtime inside each executable comes from the npm registry (@oven/bun-<target>), fetched
 * once into Bun's cache (linux-x64's too: it is the baseline one). A target whose runtime cannot
 * be had fails with one line, the others are still built, and the exit status is 1.
 */
import { createHash } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chooseLanguage } from "../src/cli/command-line.ts";

const ROOT = resolve(import.meta.dir, "..");

/** Target → Bun's runtime. x64 gets the `baseline` runtime: it runs on CPUs without AVX2 too. */
const TARGETS = {
  "linux-x64": "bun-linux-x64-baseline",
  "linux-arm64": "bun-linux-arm64",
  "darwin-x64": "bun-darwin-x64-baseline",
  "darwin-arm64": "bun-darwin-arm64",
  "windows-x64": "bun-windows-x64-baseline",
} as const satisfies Record<string, Bun.Build.CompileTarget>;
export type Target = keyof typeof TARGETS;
const PROGRAMS = ["server", "client", "probe"] as const;

/** The flags measured in bench/RESULTS.md ("Single-file executables"); these are the chosen ones. */
export interface Flags {
  minify: boolean;
  bytecode: boolean;
  baseline: boolean;
}
const CHOSEN: Flags = { minify: true, bytecode: true, baseline: true };

function fileName(program: (typeof PROGRAMS)[number], target: Target): string {
  return `echo-${program}-${target}${target.startsWith("windows") ? ".exe" : ""}`;
}

/** Builds one program for one target into `outdir`; throws an Error of one line. */
export async function compile(
  program: (typeof PROGRAMS)[number],
  target: Target,
  outdir: string,
  flags: Flags = CHOSEN,
): Promise<string> {
  const runtime = flags.baseline ? TARGETS[target] : TARGETS[target].replace("-baseline", "");
  const outfile = join(outdir, fileName(program, target));
  try {
    await Bun.build({
      entrypoints: [join(ROOT, `${program}.ts`)],
      compile: {
        target: runtime as Bun.Build.CompileTarget,
        outfile,
        // A bunfig.toml in whatever folder the executable starts in could preload code into it.
        // A .env there is still read, as `bun server.ts` would (ECHO_* settings).
        autoloadBunfig: false,
      },
      minify: flags.minify,
      bytecode: flags.bytecode,
      format: "esm", // the programs await at top level; bytecode alone would mean CommonJS
      throw: true,
    });
  } catch (error) {
    // Bun throws an AggregateError whose first message says why ("Failed to download ...").
    const first = error instanceof AggregateError ? error.errors[0] : error;
    const why = String((first as Error)?.message ?? first).split("\n")[0];
    throw new Error(`cannot build ${basename(outfile)} (${runtime}): ${why}`);
  }
  return outfile;
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const USAGE = `bun run build [--target ${Object.keys(TARGETS)}] [--outdir DIR]`;
function usage(message: string): never {
  console.error(`error: ${message} (${USAGE})`);
  process.exit(2);
}

/** What one executable's build printed: its checksum line, its name and size; or an error. */
type Built = { sum: string; name: string; out: string } | { err: string };

async function main(): Promise<number> {
  const asked = readArguments();
  if (asked === "help") return (console.log(`usage: ${USAGE}`), 0);
  const { wanted, outdir } = asked;
  await mkdir(outdir, { recursive: true });
  // Bun writes each executable to a hidden temporary file in the working folder first (about
  // 100 MiB): a build cut short leaves it in the output folder, not in the project.
  process.chdir(outdir);

  // Targets build side by side (each mostly copies and patches its runtime); each target's lines
  // are printed in order once it is done, so the output reads the same every time.
  const built = await Promise.all(wanted.map((target) => buildTarget(target, outdir)));
  const { t } = chooseLanguage(Bun.argv.slice(2), process.env);
  const sums: string[] = [];
  let failed = 0;
  let total = 0;
  for (const line of built.flat()) {
    if ("err" in line) {
      console.error(line.err);
      failed++;
    } else {
      sums.push(line.sum);
      total += Bun.file(join(outdir, line.name)).size;
      console.log(line.out);
    }
  }
  await writeSums(join(outdir, "SHA256SUMS"), sums);
  if (sums.length > 0) {
    console.log(`${"SHA256SUMS".padEnd(30)} ${t.buildSums(sums.length)}`);
    // Where it all went, and how much: the executables are large (each holds a Bun runtime).
    console.log(t.buildDone(sums.length, total / 2 ** 20, outdir));
  }
  return failed > 0 ? 1 : 0;
}

/** The targets asked for (each once) and the output folder; or --help. Exits 2 on a bad one. */
function readArguments(): { wanted: Target[]; outdir: string } | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: Bun.argv.slice(2),
      options: {
        target: { type: "string", multiple: true },
        outdir: { type: "string" },
        help: { type: "boolean", short: "h" },
        lang: { type: "string" },
      },
    }));
  } catch (error) {
    const [first = ""] = (error as Error).message.split("\n");
    usage(first);
  }
  if (values.help) return "help";
  const wanted = (values.target ?? Object.keys(TARGETS))
    .flatMap((t) => t.split(","))
    .filter(Boolean);
  for (const t of wanted) if (!(t in TARGETS)) usage(`unknown target "${t}"`);
  if (wanted.length === 0) usage("no target");
  const outdir = resolve(values.outdir ?? join(ROOT, "dist"));
  return { wanted: [...new Set(wanted)] as Target[], outdir };
}

/** Every program for one target, in order; the first that fails ends that target. */
async function buildTarget(target: Target, outdir: string): Promise<Built[]> {
  const lines: Built[] = [];
  for (const program of PROGRAMS) {
    try {
      const file = await compile(program, target, outdir);
      const bytes = await Bun.file(file).bytes();
      lines.push({
        sum: `${sha256(bytes)}  ${basename(file)}`,
        name: basename(file),
        out: `${basename(file).padEnd(30)} ${(bytes.length / 2 ** 20).toFixed(1)} MiB`,
      });
    } catch (error) {
      lines.push({ err: `error: ${(error as Error).message}` });
      break; // the other program needs the same runtime
    }
  }
  return lines;
}

/** Written whole, then renamed: a reader never sees half a list. `sha256sum -c SHA256SUMS`. */
async function writeSums(list: string, sums: string[]): Promise<void> {
  await Bun.write(`${list}.tmp`, sums.map((line) => line + "\n").join(""));
  await rename(`${list}.tmp`, list);
  if (sums.length === 0) await rm(list);
}

if (import.meta.main) process.exit(await main());
