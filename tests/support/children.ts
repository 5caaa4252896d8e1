/** Child processes of the tests: run, kill, side by side (`concurrently`), in the background. */
import { afterAll, test } from "bun:test";
import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Lines } from "./lines.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;

/**
 * The environment every child starts from (as Bun's own tests have bunEnv): the shell's, less
 * anything that would change the programs' behaviour (every ECHO_* variable, the locale), plus
 * no colour. A test that wants a variable sets it.
 */
export const cleanEnv: Record<string, string | undefined> = Object.fromEntries(
  Object.entries({ ...process.env, NO_COLOR: "1", LANG: "C" }).filter(
    ([name]) => !name.startsWith("ECHO_") && !["LC_ALL", "LC_MESSAGES", "PORT"].includes(name),
  ),
);

const children = new Set<Bun.Subprocess>();

/**
 * Tests that run side by side (`concurrently` below) own their processes: the shared afterEach
 * would otherwise kill a neighbour's server mid-test. A test's own set travels with its async
 * work (AsyncLocalStorage) and is emptied when that test ends, pass or fail.
 */
const owned = new AsyncLocalStorage<Set<Bun.Subprocess>>();
const register = (proc: Bun.Subprocess) => (owned.getStore() ?? children).add(proc);

/** At most this many side-by-side tests at once: two cores, and most tests start servers. */
const SIDE_BY_SIDE = 4;
let atOnce = SIDE_BY_SIDE;
let running = 0;
const queue: (() => void)[] = [];

/**
 * `test.concurrent`, with the test's processes its own and killed when it ends. For tests that
 * mostly wait (timeouts, slow readers, probes of broken servers): their waits overlap.
 */
export const concurrently = Object.assign(sideBySide, {
  /** As test.skipIf: skipped when `condition` holds. */
  skipIf:
    (condition: boolean) =>
    (name: string, fn: () => void | Promise<void>, timeout?: number): void =>
      condition ? test.skip(name, fn) : sideBySide(name, fn, timeout),
  /** As test.each: one side-by-side test per row, `%p` and `%s` in the name filled in order. */
  each:
    <Row extends unknown[] | [unknown]>(rows: readonly Row[]) =>
    (name: string, fn: (...row: [...Row]) => Promise<void>, timeout?: number): void => {
      for (const row of rows) {
        let at = 0;
        const title = name.replace(/%[ps]/g, (spec) => {
          const value = row[at++];
          return spec === "%s" ? String(value) : Bun.inspect(value);
        });
        sideBySide(title, () => fn(...row), timeout);
      }
    },
});

/**
 * Large-payload tests move tens of MiB through real sockets, and a side-by-side test may wait
 * its turn: more than the 5 s default, far less than a hang. Given to each test, because Bun
 * 1.4.5 applies setDefaultTimeout() from the preload to the first file only (measured).
 */
export const TEST_TIMEOUT_MS = 30_000;

/**
 * For the file that calls it, at most `n` side-by-side tests at once: for tests that wait on
 * timers and peers far more than on the CPU, so that their waits overlap rather than queue.
 */
export function sideBySideAtMost(n: number): void {
  atOnce = n;
  afterAll(() => {
    atOnce = SIDE_BY_SIDE; // the files after it start from the usual limit
  });
}

/**
 * The processes of side-by-side tests still running: one that timed out never reaches its own
 * cleanup (Bun does not cancel it), and its servers would outlive the run. Killed after the file.
 */
const unfinished = new Set<Set<Bun.Subprocess>>();
export async function killLeftovers(): Promise<void> {
  for (const set of unfinished) await killAll(set);
  unfinished.clear();
}

function sideBySide(name: string, fn: () => void | Promise<void>, timeout = TEST_TIMEOUT_MS): void {
  test.concurrent(
    name,
    async () => {
      if (running >= atOnce) await new Promise<void>((resolve) => queue.push(resolve));
      running++;
      const mine = new Set<Bun.Subprocess>();
      unfinished.add(mine);
      try {
        await owned.run(mine, fn);
      } finally {
        unfinished.delete(mine);
        await killAll(mine);
        running--;
        queue.shift()?.();
      }
    },
    timeout,
  );
}

/**
 * Starts `work` now, when the file loads, with processes of its own that are killed after the
 * file: a slow fixture (a probe of a broken server, a build) that tests then await side by side.
 */
export function inBackground<T>(work: () => Promise<T>): Promise<T> {
  const mine = new Set<Bun.Subprocess>();
  afterAll(() => killAll(mine));
  const result = owned.run(mine, work);
  result.catch(() => {}); // reported by the tests that await it
  return result;
}

/** A process's own children (Linux /proc; none once it has exited). */
export function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process's descendants, deepest first (a pseudo-terminal's shell, `bun run`, --workers). */
export function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((child) => [...descendantsOf(child), child]);
}

/**
 * Kills every process a test started, even when the test failed half-way. Registered for every
 * test file by tests/setup.ts (bunfig.toml preload): a hook registered here would belong to the
 * first file that imports this module only, and the other files' processes would outlive them.
 */
export async function killChildren(): Promise<void> {
  await killAll(children);
}

async function killAll(set: Set<Bun.Subprocess>): Promise<void> {
  for (const child of set) {
    for (const pid of descendantsOf(child.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {} // gone already
    }
    child.kill("SIGKILL");
    await child.exited;
  }
  set.clear();
}

export interface Child {
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  out: Lines;
  err: Lines;
  /** Exit code, once the process has ended and its output has been read. */
  exited: Promise<number>;
}

/** Runs `bun <script> ...args` from the project root with piped stdio. */
export function run(
  script: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; stdin?: string | Uint8Array } = {},
): Child {
  return runCommand([BUN, script, ...args], options);
}

/**
 * Runs any command with piped stdio, from the project root unless `cwd` says otherwise (the
 * executables' tests run far from it); killed after the test like the rest.
 */
export function runCommand(
  argv: string[],
  options: {
    env?: Record<string, string | undefined>;
    stdin?: string | Uint8Array;
    cwd?: string;
  } = {},
): Child {
  const proc = Bun.spawn(argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...cleanEnv, ...options.env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  register(proc);
  if (options.stdin !== undefined) {
    proc.stdin.write(options.stdin);
    proc.stdin.end();
  }
  const out = new Lines(proc.stdout);
  const err = new Lines(proc.stderr);
  const exited = Promise.all([proc.exited, out.closed, err.closed]).then(([code]) => code);
  return { proc, out, err, exited };
}

/**
 * Runs `argv` with `input` on its stdin, and returns what it wrote on stdout as bytes (a real
 * peer such as socat or nc, given a payload) with its exit status; killed after the test too.
 */
export async function pipeThrough(
  argv: string[],
  input: Uint8Array,
): Promise<{ code: number; output: Uint8Array; err: string }> {
  const proc = Bun.spawn(argv, {
    cwd: ROOT,
    env: cleanEnv,
    stdin: input,
    stdout: "pipe",
    stderr: "pipe",
  });
  register(proc);
  const [output, err, code] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, output, err };
}

/** PATH with the project's own Bun first, as the README's set-up line makes it. */
export const PATH_WITH_BUN = `${ROOT}/node_modules/.bin:${process.env.PATH}`;
