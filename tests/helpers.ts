/** Real processes and real sockets for the tests: no mocks, no fixed sleeps. */
import { afterAll, expect, test } from "bun:test";
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect as netConnect, type Socket as NetSocket } from "node:net";
import { resolve } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { listeningAddress } from "./support/processes.ts";

export const ROOT = resolve(import.meta.dir, "..");
export const BUN = process.execPath;

/** The lines a child writes on one stream, with a way to wait for one of them. */
export class Lines {
  readonly all: string[] = [];
  readonly closed: Promise<void>;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private ended = false;
  /** What came after the last newline: a prompt, say. */
  partial = "";
  /** Everything that came, exactly as it came: newlines, CRs, escapes (a terminal's screen). */
  raw = "";
  private onChunk: (() => void)[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.closed = this.pump(stream);
  }

  get text(): string {
    return this.all.join("\n");
  }

  /** Resolves with the first line (already seen or still to come) that matches. */
  waitFor(pattern: RegExp | string): Promise<string> {
    const test = (line: string) =>
      typeof pattern === "string" ? line.includes(pattern) : pattern.test(line);
    const seen = this.all.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.ended)
      return Promise.reject(new Error(`never printed ${pattern}; got:\n${this.text}`));
    return new Promise((resolve, reject) => {
      this.waiters.push({ test, resolve });
      this.closed.then(() => reject(new Error(`never printed ${pattern}; got:\n${this.text}`)));
    });
  }

  /** Resolves once the unfinished last line ends with `text` (a prompt waiting for input). */
  async prompts(text: string): Promise<void> {
    while (!this.partial.endsWith(text)) {
      if (this.ended) throw new Error(`never prompted ${text}; got:\n${this.text}`);
      await new Promise<void>((resolve) => this.onChunk.push(resolve));
    }
  }

  /** Resolves once `text` has come `times` times in all (a terminal showing it). */
  async shows(text: string, times = 1): Promise<void> {
    while (this.raw.split(text).length - 1 < times) {
      if (this.ended)
        throw new Error(`never showed ${JSON.stringify(text)} ×${times}; got:\n${this.raw}`);
      await new Promise<void>((resolve) => this.onChunk.push(resolve));
    }
  }

  /** Number of lines so far that match. */
  count(pattern: RegExp): number {
    return this.all.filter((line) => pattern.test(line)).length;
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      this.raw += text;
      rest += text;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.add(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
      this.partial = rest;
      for (const wake of this.onChunk.splice(0)) wake();
    }
    if (rest !== "") this.add(rest);
    this.ended = true;
    for (const wake of this.onChunk.splice(0)) wake();
  }

  private add(line: string): void {
    this.all.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }
}

// ---- processes ----------------------------------------------------------------------------------
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
      if (running >= SIDE_BY_SIDE) await new Promise<void>((resolve) => queue.push(resolve));
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

// ---- terminals ----------------------------------------------------------------------------------
/** A command on a pseudo-terminal of its own: what the terminal shows, and a keyboard. */
export interface Terminal extends Child {
  /** The command line, as given. */
  readonly command: string;
  /** All the terminal has shown so far, as it came: CR LF line ends, escapes and all. */
  readonly screen: string;
  /** Presses `keys` now: "\x03" is Ctrl-C, "\x04" Ctrl-D, "\n" Enter. */
  type(keys: string): void;
  /** Types `line` and Enter once the next prompt is showing (one more than answered so far). */
  answer(line: string, prompt?: string): Promise<void>;
  /** Resolves once the screen has shown `text`, `times` times; rejects if the terminal ends first. */
  shows(text: string, times?: number): Promise<void>;
  /** Resolves once the last, unfinished line ends with `text`: a prompt waiting for input. */
  prompts(text: string): Promise<void>;
}

/**
 * Runs a shell command line on a pseudo-terminal (script(1)), as a person at a terminal runs
 * it: the project's Bun first on PATH (for `bun run`), TERM=dumb, and the clean environment,
 * so no colour unless `env` gives NO_COLOR "". Killed after the test like every other child.
 */
export function onTerminal(
  command: string,
  env: Record<string, string | undefined> = {},
): Terminal {
  // -q: no "Script started" lines; -f: each write shown at once; -e: the command's exit status;
  // -c: the command line; /dev/null: no typescript file. `exec`: an interactive shell runs the
  // command as a job of its own, so Ctrl-C reaches the command and not the shell; without it, a
  // `sh -c` that stays (dash, where SHELL is unset) would die of the Ctrl-C and report 130.
  const child = runCommand(["script", "-qfec", `exec ${command}`, "/dev/null"], {
    env: { PATH: PATH_WITH_BUN, TERM: "dumb", ...env },
  });
  const type = (keys: string) => {
    child.proc.stdin.write(keys);
    child.proc.stdin.flush();
  };
  let answered = 0;
  return {
    ...child,
    command,
    get screen() {
      return child.out.raw;
    },
    type,
    async answer(line, prompt = "> ") {
      await child.out.shows(prompt, ++answered);
      type(`${line}\n`);
    },
    shows: (text, times) => child.out.shows(text, times),
    prompts: (text) => child.out.prompts(text),
  };
}

// ---- servers ------------------------------------------------------------------------------------
export interface Server extends Child {
  port: number;
  host: string;
}

/** Starts `server.ts` on a free port and waits for its listening line. */
export async function startServer(
  args: string[] = [],
  env?: Record<string, string>,
): Promise<Server> {
  const child = run("server.ts", ["--port", "0", ...args], { env });
  const { host, port } = await listeningAddress(child.out).catch(async (error) => {
    throw new Error(`${error.message}\nstderr:\n${child.err.text}`);
  });
  return { ...child, host, port };
}

/**
 * Server arguments for watching backpressure: concurrent, and with --trace alone (pause, drain,
 * resume, end, close on stderr) without a line per message on stdout.
 */
export const TRACE_ONLY = ["--mode", "concurrent", "--quiet", "--trace"];

/**
 * A stand-in server on a free port, for what the real one never does: it records the bytes it
 * receives and answers each piece with `reply` (nothing, a changed echo, a flood...).
 */
export function testServer(reply: (socket: Socket<undefined>, bytes: Uint8Array) => void) {
  const received: Uint8Array[] = [];
  const listener: TCPSocketListener<undefined> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      data(socket, bytes: Uint8Array) {
        received.push(bytes.slice());
        reply(socket, bytes);
      },
    },
  });
  return {
    port: listener.port,
    received: () => Buffer.concat(received).toString("utf8"),
    [Symbol.dispose]: () => listener.stop(true),
  };
}

/** A port that was free a moment ago (listened on, then closed): nothing listens there now. */
export function freePort(): number {
  using probe = testServer(() => {});
  return probe.port;
}

export function have(program: string): boolean {
  return Bun.which(program) !== null;
}

/** Whether a process is still running (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls a condition nothing announces, every 20 ms, for at most `withinMs` (by default until the
 * test's own timeout); resolves with whether it came true, so an `expect` after it can say how not.
 */
export async function until(condition: () => boolean, withinMs = Infinity): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(20);
  }
  return true;
}

// ---- bytes and peers ----------------------------------------------------------------------------
export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

export function sha256(data: Uint8Array | Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of Array.isArray(data) ? data : [data]) hash.update(part);
  return hash.digest("hex");
}

/**
 * A peer built on node:net (an independent implementation with its own buffering), so that a
 * bug in the project's write queue cannot hide itself in the test's client too.
 */
export class Peer {
  readonly socket: NetSocket;
  readonly received: Uint8Array[] = [];
  bytes = 0;
  readonly connected: Promise<void>;
  /** Resolves when the server ends the stream (FIN) or the socket closes. */
  readonly ended: Promise<void>;
  private waiters: { size: number; resolve: () => void }[] = [];

  constructor(port: number, host = "127.0.0.1", readNow = true) {
    this.socket = netConnect({ port, host, allowHalfOpen: true });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("error", () => {});
    this.socket.on("data", (chunk: Buffer) => {
      this.received.push(chunk);
      this.bytes += chunk.length;
      this.waiters = this.waiters.filter((w) =>
        this.bytes >= w.size ? (w.resolve(), false) : true,
      );
    });
    this.ended = new Promise((resolve) => {
      this.socket.once("end", () => resolve());
      this.socket.once("close", () => resolve());
    });
    if (!readNow) this.socket.pause();
  }

  /** Resolves once `size` bytes in all have come back. */
  until(size: number): Promise<void> {
    if (this.bytes >= size) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ size, resolve }));
  }

  /** Writes everything, waiting for the kernel to take it (node:net's own backpressure). */
  async send(data: Uint8Array, piece = 1 << 20): Promise<void> {
    for (let at = 0; at < data.length; at += piece) {
      if (!this.socket.write(data.subarray(at, at + piece))) {
        await new Promise((resolve) => this.socket.once("drain", resolve));
      }
    }
  }

  /** Half-close: no more bytes from us, but we keep reading. */
  finish(): void {
    this.socket.end();
  }

  text(): string {
    return Buffer.concat(this.received).toString("utf8");
  }

  all(): Uint8Array {
    return Buffer.concat(this.received);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `text` and waits for its echo; returns all the peer has received so far, as text. */
export async function roundTrip(peer: Peer, text: string): Promise<string> {
  const data = new TextEncoder().encode(text);
  const before = peer.bytes;
  await peer.send(data);
  await peer.until(before + data.length);
  return peer.text();
}

/** Sends `data` on a new connection (in pieces of `piece` bytes), half-closes, returns the echo. */
export async function echoOf(port: number, data: Uint8Array, piece?: number): Promise<Uint8Array> {
  const peer = new Peer(port);
  await peer.send(data, piece);
  peer.finish();
  await peer.ended;
  return peer.all();
}

/** A well-behaved client: sends `size` random bytes, half-closes, checks the whole echo. */
export async function goodClient(server: Server, size = 256 * 1024): Promise<void> {
  const payload = randomBytes(size);
  expect(sha256(await echoOf(server.port, payload, 16 * 1024))).toBe(sha256(payload));
}

/** A new connection, once the server has logged it (`#id connected`). */
export async function connectedPeer(server: Server, id = 1): Promise<Peer> {
  const peer = new Peer(server.port);
  await peer.connected;
  await server.out.waitFor(new RegExp(`^#${id} connected`));
  return peer;
}
