/** Real processes and real sockets for the tests: no mocks, no fixed sleeps. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect as netConnect, type Socket as NetSocket } from "node:net";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BUN = process.execPath;

/** The lines a child writes on one stream, with a way to wait for one of them. */
export class Lines {
  readonly all: string[] = [];
  readonly closed: Promise<void>;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private ended = false;

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

  /** Number of lines so far that match. */
  count(pattern: RegExp): number {
    return this.all.filter((line) => pattern.test(line)).length;
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.add(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
    if (rest !== "") this.add(rest);
    this.ended = true;
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
    ([name]) => !name.startsWith("ECHO_") && name !== "LC_ALL" && name !== "LC_MESSAGES",
  ),
);

const children = new Set<Bun.Subprocess>();

/**
 * Kills every process a test started, even when the test failed half-way. Registered for every
 * test file by tests/setup.ts (bunfig.toml preload): a hook registered here would belong to the
 * first file that imports this module only, and the other files' processes would outlive them.
 */
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

export async function killChildren(): Promise<void> {
  for (const child of children) {
    for (const pid of descendantsOf(child.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {} // gone already
    }
    child.kill("SIGKILL");
    await child.exited;
  }
  children.clear();
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
  children.add(proc);
  if (options.stdin !== undefined) {
    proc.stdin.write(options.stdin);
    proc.stdin.end();
  }
  const out = new Lines(proc.stdout);
  const err = new Lines(proc.stderr);
  const exited = Promise.all([proc.exited, out.closed, err.closed]).then(([code]) => code);
  return { proc, out, err, exited };
}

/** PATH with the project's own Bun first, as the README's set-up line makes it. */
export const PATH_WITH_BUN = `${ROOT}/node_modules/.bin:${process.env.PATH}`;

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
  const line = await child.out.waitFor(/^(listening on|escutando em) /).catch(async (error) => {
    throw new Error(`${error.message}\nstderr:\n${child.err.text}`);
  });
  const [, host, port] = / (?:on|em) \[?([^\]\s]+?)\]?:(\d+) /.exec(line)!;
  return { ...child, host: host!, port: Number(port) };
}

/** Resident memory of a process in bytes (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

export function have(program: string): boolean {
  return Bun.which(program) !== null;
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
