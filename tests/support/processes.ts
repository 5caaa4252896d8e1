/**
 * Other processes, seen from outside: start an echo server and read its listening line, and read
 * a process's memory and CPU time from Linux /proc. Shared by the tests (tests/helpers.ts), the
 * bench (bench/bench.ts) and the soak (scripts/soak.ts), so there is one way to do each.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";

// ---- the listening line -------------------------------------------------------------------------
/**
 * The first line a server prints once it accepts connections, in either language, and the line
 * of bench/node-echo.mjs: "listening on 127.0.0.1:5000 (mode once)", "escutando em [::1]:5000".
 */
export const LISTENING = /^(?:listening on|escutando em) \[?([^\]\s]+?)\]?:(\d+)(?:\s|$)/;

/** Anything that can wait for a line of a process's output (tests/helpers.ts `Lines` can). */
export interface LineSource {
  waitFor(pattern: RegExp): Promise<string>;
}

/** Waits for the listening line on `out` and returns the address it names. */
export async function listeningAddress(out: LineSource): Promise<{ host: string; port: number }> {
  const [, host, port] = LISTENING.exec(await out.waitFor(LISTENING))!;
  return { host: host!, port: Number(port) };
}

/** The lines of a stream as they come, kept; a small `LineSource` for programs. */
export class StreamLines implements LineSource {
  readonly all: string[] = [];
  readonly closed: Promise<void>;
  private waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.closed = (async () => {
      const decoder = new TextDecoder();
      let rest = "";
      for await (const chunk of stream) {
        rest += decoder.decode(chunk, { stream: true });
        for (let nl; (nl = rest.indexOf("\n")) >= 0; rest = rest.slice(nl + 1))
          this.add(rest.slice(0, nl));
      }
      if (rest !== "") this.add(rest);
    })();
  }

  waitFor(pattern: RegExp): Promise<string> {
    const seen = this.all.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ pattern, resolve });
      this.closed.then(() => reject(new Error(`never printed ${pattern}`)));
    });
  }

  private add(line: string): void {
    this.all.push(line);
    this.waiters = this.waiters.filter((w) => !(w.pattern.test(line) && (w.resolve(line), true)));
  }
}

export interface Started {
  process: Bun.Subprocess<"ignore", "pipe", "inherit" | "pipe">;
  host: string;
  port: number;
  out: StreamLines;
}

/**
 * Runs `cmd` (a server that prints a listening line on stdout, with --port 0 say) and returns
 * once it listens, with the address it printed. Its output keeps being read, so a chatty server
 * never blocks on a full pipe. Throws if it exits first or is silent for `timeoutMs`; the caller
 * stops it (`process.kill()`).
 */
export async function startListening(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<Started> {
  const child = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: options.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = new StreamLines(child.stdout);
  const timeout = options.timeoutMs ?? 30_000;
  let timer: Timer | undefined;
  try {
    const address = await Promise.race([
      listeningAddress(out),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`silent for ${timeout / 1000} s`)), timeout);
      }),
    ]);
    return { process: child, out, ...address };
  } catch (error) {
    child.kill();
    const said = out.all.length ? `: ${out.all.join(" / ")}` : "";
    throw new Error(`${cmd.join(" ")} did not start (${(error as Error).message})${said}`);
  } finally {
    clearTimeout(timer);
  }
}

// ---- memory and CPU, from /proc (Linux) ---------------------------------------------------------
export const hasProc = existsSync("/proc/self/stat");

/** Is there a process with this id (Linux /proc, or a signal 0 elsewhere)? */
export function processExists(pid: number): boolean {
  if (hasProc) return existsSync(`/proc/${pid}/status`);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process and all its descendants (a server with --workers is several processes). */
export function processTree(pid: number): number[] {
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

const ownRss = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/**
 * Resident memory in bytes of `pid` (throws if it does not exist), or with `tree` of it and all
 * its descendants (those that exit meanwhile count as 0).
 */
export function rssBytes(pid: number, tree = false): number {
  if (!tree) return ownRss(pid);
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += ownRss(p);
    } catch {}
  }
  return sum;
}

/** Memory of the tree once it has stopped moving (two readings 200 ms apart within 1%), ≤ 3 s. */
export async function settledRssBytes(pid: number): Promise<number> {
  let last = rssBytes(pid, true);
  for (let i = 0; i < 15; i++) {
    await Bun.sleep(200);
    const now = rssBytes(pid, true);
    if (Math.abs(now - last) <= last * 0.01) return now;
    last = now;
  }
  return last;
}

const TICKS = 100; // USER_HZ: 100 on every Linux Bun runs on

/** CPU seconds (user + system) used so far by `pid` and its descendants; NaN without /proc. */
export function cpuSeconds(pid: number | undefined): number {
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
