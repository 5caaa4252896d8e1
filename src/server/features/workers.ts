/**
 * `--workers N`: N copies of the server, each its own process and event loop, all listening on
 * one port with SO_REUSEPORT so the kernel spreads new connections among them. The parent only
 * supervises: it starts them, restarts one that dies, passes a stop signal on to each, and exits
 * when all have finished.
 *
 * Workers run in their own process group, so a Ctrl-C reaches them once, through the parent,
 * never twice (once from the terminal, once forwarded), which they would take as "force".
 */
import type { Subprocess } from "bun";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from "node:fs";
import { type Figures, noFigures } from "./http/metrics.ts";
import { type Counters, figuresOf, noCounters } from "./http/observe.ts";
import { DRAIN_CUT_STATUS, onStopSignal, type StopSignal } from "../../common/signals.ts";
import { compiled } from "../../cli/self.ts";
import {
  combine,
  derivedLeaves,
  gaugeLeaves,
  IDS_PATH,
  Layout,
  only,
  SHARED_PATH,
  sharedFile,
  TICK,
  zeroed,
} from "./shared-figures.ts";

/** Set by the parent in each worker's environment: "K/N", and the port they all share. */
const WORKER_ENV = "ECHO_WORKER";
const WORKER_PORT_ENV = "ECHO_WORKER_PORT";
/** The worker's shared file (src/server/features/shared-figures.ts). */
const WORKER_FILE_ENV = "ECHO_WORKER_FILE";
/** The file every worker numbers its connections from: one counter per K, added to atomically. */
const WORKER_IDS_ENV = "ECHO_WORKER_IDS";

/** Worker → parent. */
type WorkerReport = { listening: number } | { summary: Summary };

interface Summary {
  connections: number;
  echoed: number;
}

/** Where a worker's counters and figures live, the same in the parent and every worker. */
const layout = new Layout<Counters, Figures>(noCounters, noFigures);

/** How often a worker's timer beats, and snapshots its figures (open connections, paused). */
const HEARTBEAT_MS = 250;

/**
 * What differs between a server that runs alone and one of --workers N: how connections are
 * numbered, which port it listens on, and who prints the listening line and the summary.
 */
export interface Role {
  alone: boolean;
  /** One of --workers N: its number K (of ECHO_WORKER=K/N), which its log lines carry. */
  worker?: number;
  /** The number of the k-th connection (k from 0): worker i of n numbers its own i, i+n, i+2n... */
  nextId(k: number): number;
  port(configured: number): number;
  /** Listening: a worker tells its parent (which prints one line for all); alone, `announce`. */
  listening(port: number, announce: () => void): void;
  /** All done: a worker sends its figures to the parent; alone, `print` shows them. */
  finish(summary: Summary, print: () => void): Promise<void>;
  /** A worker whose parent is gone must stop too. */
  onOrphaned(stop: () => void): void;
  /**
   * The counters to count with. A worker's live in its shared file, where the parent reads them
   * (for /metrics) and where they outlive the worker.
   */
  counters(fresh: Counters): Counters;
  /** A worker's timer: the heartbeat its parent watches, and a snapshot of its gauges. */
  heartbeat(figures: () => Figures): void;
}

/**
 * A worker is what the parent started: the variables it sets, and the IPC channel it opens. A
 * stray ECHO_WORKER in someone's environment, without that channel, is ignored.
 */
export function roleFrom(env: Record<string, string | undefined>): Role {
  const m = /^(\d+)\/(\d+)$/.exec(env[WORKER_ENV] ?? "");
  if (!m || !process.send) {
    return {
      alone: true,
      nextId: (k) => k + 1,
      port: (configured) => configured,
      listening: (_port, announce) => announce(),
      finish: async (_summary, print) => print(),
      onOrphaned: () => {},
      counters: (fresh) => fresh,
      heartbeat: () => {},
    };
  }
  const [index, count] = [Number(m[1]), Number(m[2])];
  // Its parent made the file: one that cannot be mapped (never seen) leaves this worker's
  // figures unseen, not the worker unable to serve.
  const cells = layout.map(env[WORKER_FILE_ENV] ?? "") ?? new Float64Array(layout.cells);
  // Worker K's counter is shared with every worker that is or was K: one restarted goes on
  // from where the last stopped, and during a reload the old K (still accepting for
  // --stop-delay) and the new one never take the same number.
  const ids = idsOf(env[WORKER_IDS_ENV] ?? "", count);
  return {
    alone: false,
    worker: index,
    nextId: () => Number(Atomics.add(ids, index - 1, 1n)) * count + index,
    port: () => Number(env[WORKER_PORT_ENV] ?? 0),
    listening: (port) => process.send?.({ listening: port } satisfies WorkerReport),
    finish: (summary) =>
      // The parent may be gone already: then there is no one to wait for.
      new Promise<void>((resolve) => {
        setTimeout(resolve, 1000).unref();
        try {
          process.send?.({ summary } satisfies WorkerReport, undefined, undefined, () => resolve());
        } catch {
          resolve();
        }
      }),
    onOrphaned: (stop) => process.on("disconnect", stop),
    counters: () => layout.backed(cells),
    heartbeat: (figures) => {
      const beat = () => {
        layout.writeFigures(cells, figures());
        cells[TICK] = cells[TICK]! + 1;
      };
      beat();
      setInterval(beat, HEARTBEAT_MS).unref();
    },
  };
}

/** The shared counters of ids, one per worker number (a private one if it cannot be mapped). */
function idsOf(path: string, count: number): BigInt64Array {
  try {
    const bytes = Bun.mmap(path);
    if (bytes.byteLength >= count * 8)
      return new BigInt64Array(bytes.buffer, bytes.byteOffset, count);
  } catch {}
  return new BigInt64Array(count);
}

/** Bun.listen takes `reusePort` on Linux; its 1.4 type definitions do not list it yet. */
export interface ReusePort {
  reusePort?: boolean;
}

/** Can two sockets here listen on one port? (Probed on a free port, closed at once.) */
export function reusePortWorks(host: string): boolean {
  const socket = { data() {} };
  let first;
  try {
    const options: Bun.TCPSocketListenOptions<undefined> & ReusePort = {
      hostname: host,
      port: 0,
      reusePort: true,
      socket,
    };
    first = Bun.listen(options);
  } catch {
    return true; // this host cannot be listened on at all: the worker will say why
  }
  try {
    const options: Bun.TCPSocketListenOptions<undefined> & ReusePort = {
      hostname: host,
      port: first.port,
      reusePort: true,
      socket,
    };
    Bun.listen(options).stop(true);
    return true;
  } catch {
    return false;
  } finally {
    first.stop(true);
  }
}

interface SuperviseOptions {
  count: number;
  port: number; // 0: the first worker picks one, the others join it
  listening: (port: number) => void; // all workers are listening
  stopping: () => void; // the first stop signal arrived
  /** Every worker has ended: the figures of them all, and the status to exit with. */
  summary: (totals: Summary, exitCode: number) => void;
  died: (index: number, pid: number, code: number | null, signal: string | null) => void;
  /** A worker stopped answering: it is ended now, and started again once it has gone. */
  hung: (index: number, pid: number, seconds: number) => void;
  /** A worker that died or hung is serving again, as this process. */
  restarted: (index: number, pid: number) => void;
  failing: (index: number) => void;
  /** Another program listens on the port too (it joined between our check and our bind). */
  shared: (port: number) => void;
  /**
   * SIGHUP reloads (off a terminal): each worker in turn is replaced by a new one (which reads
   * its files and environment afresh) once that one listens; the old one stops as on SIGTERM.
   */
  reload?: {
    started: (count: number) => void;
    /** Every worker replaced (the old ones may still be draining). */
    done: (count: number) => void;
    /** A SIGHUP during a reload (or before the workers listen): one more reload follows. */
    queued: () => void;
    /** Worker K's replacement ended before it listened: the reload stops there. */
    failed: (index: number, replaced: number) => void;
  };
  /** The exposition of some figures: which of them are gauges (zero for a dead worker). */
  render: (f: Figures) => string;
  /**
   * Every worker listens: `figures` reads every worker's (their shared files, dead ones
   * included), `restarts` counts workers started again, `ready` says if all serve.
   */
  serving?: (figures: () => Figures, restarts: () => number, ready: () => boolean) => void;
  /**
   * The connections one worker takes (--max-connections, or fewer under `ulimit -n`): a worker
   * at it refuses the clients the kernel hands it, so the whole is not ready.
   */
  perWorker: number;
}

/**
 * How to start this program again. From source that is `bun server.ts`; a single-file
 * executable (bun build --compile) is the program itself, and its Bun.main is a virtual path.
 */
function self(): string[] {
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

/**
 * A worker whose event loop has not turned for this long, while the parent's has, is hung (a
 * blocked event loop, a stopped process): it still holds its share of the port, and the kernel
 * goes on sending it clients.
 */
export const HUNG_AFTER_MS = 5000;
const CHECK_MS = 1000; // how often the parent looks at the heartbeats
const QUICK_DEATH_MS = 1000; // a worker that ends this soon after starting...
const QUICK_DEATHS = 3; // ...this many times in a row is not restarted again

/** Runs the workers until they have all ended; resolves with the status to exit with. */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const done = Promise.withResolvers<number>();
  const workers: (Subprocess | undefined)[] = new Array(o.count);
  // Replaced by a reload and draining, with their shared files: not deaths, not restarted.
  const retiring = new Map<Subprocess, Float64Array>();
  const replacements = new Set<Subprocess>(); // started by a reload, not listening yet
  const quickDeaths = new Array<number>(o.count).fill(0);
  let port = o.port;
  let stopping = false;
  let ready = false; // every worker has listened once
  let exitCode = 0;
  let restarts = 0;
  // The connection ids, shared by all the workers (see roleFrom); open here for good.
  const idsFd = sharedFile(8 * o.count);
  // One shared file per worker (src/server/features/shared-figures.ts), mapped here and by the worker, and
  // unlinked from the start: a parent killed by SIGKILL leaves nothing behind. When
  // a worker ends, what it counted is folded into `retired`, and the next one in its slot gets
  // a new file: the sums never go back (Prometheus would read that as a reset), and a dead
  // worker's gauges count 0.
  const cells: Float64Array[] = Array.from(
    { length: o.count },
    () => new Float64Array(layout.cells),
  );
  const gauges = gaugeLeaves(noFigures(), o.render);
  // What the counters alone decide: never this process's own CPU or memory, which would be
  // taken for a worker's (and counted once per worker).
  const counted = (c: Counters) => figuresOf(new Set(), c);
  const derived = derivedLeaves(noCounters, counted);
  let retired = noFigures();
  let retiredCounters = noCounters(); // for the summary: every worker's, the dead ones' too
  /**
   * One slot's figures: its counters as stored (exact to the last byte), its snapshot for the
   * rest; for a counter both hold, the larger (the snapshot lags the counters).
   */
  const figuresOfCells = (c: Float64Array): Figures => {
    const exact = only(counted(layout.readCounters(c)), derived);
    return combine(exact, layout.readFigures(c), Math.max);
  };
  const figures = (): Figures =>
    [...cells, ...retiring.values()].reduce(
      (sum, c) => combine(sum, figuresOfCells(c), (a, b) => a + b),
      retired,
    );
  /** A worker has ended: what it counted stays in the sums, its gauges count 0. */
  const retire = (c: Float64Array, killed: boolean) => {
    retired = combine(retired, zeroed(figuresOfCells(c), gauges), (a, b) => a + b);
    const counters = layout.readCounters(c);
    // A killed worker never closed its open connections: what it handed the kernel for them
    // reached their clients all the same, so its summary counts that (as the metrics do).
    if (killed) counters.echoed = Math.max(counters.echoed, counters.written);
    retiredCounters = combine(retiredCounters, counters, (a, b) => a + b);
  };

  const finishIfDone = () => {
    if (workers.every((w) => w === undefined) && retiring.size + replacements.size === 0) {
      const { connections, echoed } = retiredCounters;
      o.summary({ connections, echoed }, exitCode);
      done.resolve(exitCode);
    }
  };

  /** A worker ended during a stop: its status in the parent's. */
  const stoppedWith = (child: Subprocess, code: number) => {
    // Ended by the stop signal itself: a worker still starting (one restarted a moment
    // ago) had no handler yet, and nothing open to lose.
    if (child.signalCode !== null) return finishIfDone();
    // A forced stop says so first, then a failure, then a drain that cut a connection.
    if (code === 129 || code === 130 || code === 143) exitCode = code;
    else if (code === DRAIN_CUT_STATUS) exitCode ||= code;
    else if (code !== 0 && (exitCode === 0 || exitCode === DRAIN_CUT_STATUS)) exitCode = 1;
    finishIfDone();
  };

  /**
   * Starts worker `index`; resolves true once it listens, false if it ended first. A
   * `replacing` one (a reload) takes the slot only once it listens: until then the old one
   * serves, and a replacement that cannot start leaves it there.
   */
  const start = (index: number, replacing = false): Promise<boolean> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const fd = sharedFile(layout.bytes);
      const mapped = layout.map(`/proc/self/fd/${fd}`);
      if (!mapped) throw new Error("cannot map a worker's shared file");
      if (!replacing) cells[index - 1] = mapped;
      const takeOver = () => {
        replacements.delete(child);
        const old = workers[index - 1];
        if (old !== undefined) retiring.set(old, cells[index - 1]!);
        workers[index - 1] = child;
        cells[index - 1] = mapped;
        // As on SIGTERM: --stop-delay, then the drain; the new one already shares the port.
        old?.kill("SIGTERM");
      };
      const child = Bun.spawn([...self(), ...process.argv.slice(2)], {
        env: {
          ...process.env,
          [WORKER_ENV]: `${index}/${o.count}`,
          [WORKER_PORT_ENV]: String(port),
          [WORKER_FILE_ENV]: SHARED_PATH,
          [WORKER_IDS_ENV]: IDS_PATH,
        },
        stdio: ["ignore", "inherit", "inherit", fd, idsFd], // its SHARED_FD and IDS_FD
        detached: true,
        ipc(report: WorkerReport) {
          // A worker's summary is in its shared file already, with those of the dead.
          if ("listening" in report) {
            port = report.listening;
            quickDeaths[index - 1] = 0;
            if (replacing && !stopping) takeOver(); // stopping: the stop signal ends it
            resolve(true);
          }
        },
      });
      closeSync(fd); // mapped here, open there
      if (replacing) replacements.add(child);
      else workers[index - 1] = child;
      child.exited.then((code) => {
        const killed = child.signalCode !== null;
        resolve(false);
        if (child !== workers[index - 1]) {
          // Replaced by a reload (and drained), or a replacement that never listened: neither
          // is a death, nor restarted. A drain that cut one during a reload is not a stop's.
          retiring.delete(child);
          replacements.delete(child);
          retire(mapped, killed);
          if (stopping) stoppedWith(child, code);
          return;
        }
        workers[index - 1] = undefined;
        retire(mapped, killed);
        cells[index - 1] = new Float64Array(layout.cells); // nothing more to count here
        if (stopping) return stoppedWith(child, code);
        if (!ready) {
          // Could not start (the port is taken, say): the worker has said why; so do we, by code.
          exitCode = code || 1;
          stop("SIGTERM");
          return finishIfDone();
        }
        const signal = child.signalCode === null ? null : String(child.signalCode);
        o.died(index, child.pid, signal ? null : code, signal);
        const quick = performance.now() - startedAt < QUICK_DEATH_MS;
        quickDeaths[index - 1] = quick ? quickDeaths[index - 1]! + 1 : 0;
        if (quickDeaths[index - 1]! >= QUICK_DEATHS) {
          o.failing(index);
          exitCode = 1;
          stop("SIGTERM");
          return finishIfDone();
        }
        restarts++;
        void start(index).then((listening) => {
          const pid = workers[index - 1]?.pid;
          if (listening && pid !== undefined) o.restarted(index, pid);
        });
      });
    });

  const stop = (signal: StopSignal) => {
    // The old workers of a reload are stopping already: only a second signal (force) is theirs.
    const draining = stopping ? [...retiring.keys()] : [];
    if (!stopping) o.stopping();
    stopping = true;
    for (const w of [...workers, ...replacements, ...draining])
      if (w !== undefined && w.exitCode === null) w.kill(signal);
  };

  let reloading = false;
  let again = false; // a SIGHUP came during a reload, or before the workers listened
  const reload = async () => {
    if (stopping) return;
    if (reloading || !ready) {
      again = true;
      return o.reload?.queued();
    }
    reloading = true;
    while (!stopping) {
      again = false;
      o.reload?.started(o.count);
      let replaced = 0;
      for (let i = 1; i <= o.count && !stopping; i++) {
        if (!(await start(i, true))) break;
        replaced++;
      }
      if (stopping) break;
      if (replaced < o.count) o.reload?.failed(replaced + 1, replaced);
      else o.reload?.done(replaced);
      if (!again) break;
    }
    reloading = false;
  };
  onStopSignal(stop, o.reload && (() => void reload()));

  // A worker is hung when its heartbeat has not moved for HUNG_AFTER_MS of the parent's own
  // running time: a parent that was itself stopped (SIGSTOP, Ctrl-Z) or blocked (its own
  // output) has seen nothing, and counts nothing; a worker blocked writing its log (a full
  // pipe, a terminal held by Ctrl-S) is waiting for its reader, as a single process would.
  const beats = new Array<number>(o.count).fill(0);
  const still = new Array<number>(o.count).fill(0); // ms of the parent's time without a beat
  const watched = new Array<number>(o.count).fill(0); // whose beat: a new worker starts afresh
  let lastCheck = performance.now();
  const check = () => {
    const at = performance.now();
    const elapsed = at - lastCheck;
    lastCheck = at;
    const parentPaused = elapsed > 2 * CHECK_MS;
    workers.forEach((w, i) => {
      const beat = cells[i]![TICK]!;
      if (
        w === undefined ||
        w.exitCode !== null ||
        w.pid !== watched[i] ||
        beat === 0 ||
        beat !== beats[i] ||
        parentPaused
      ) {
        beats[i] = beat;
        still[i] = 0;
        watched[i] = w?.pid ?? 0;
        return;
      }
      if (blockedOnOutput(w.pid)) return; // its reader holds it: not its fault, nor hung
      still[i]! += elapsed;
      if (still[i]! < HUNG_AFTER_MS) return;
      o.hung(i + 1, w.pid, still[i]! / 1000);
      still[i] = 0;
      w.kill("SIGKILL");
    });
  };

  // The first worker settles the port (it may be 0: any free one); the others then join it.
  if ((await start(1)) && !stopping) {
    await Promise.all(Array.from({ length: o.count - 1 }, (_, i) => start(i + 2)));
    const pids = workers.flatMap((w) => (w === undefined ? [] : [w.pid]));
    if (!stopping && othersListening(port, pids)) {
      o.shared(port);
      exitCode = 1;
      stop("SIGTERM");
    } else if (!stopping) {
      ready = true;
      o.serving?.(
        figures,
        () => restarts,
        () =>
          !stopping &&
          workers.every(
            (w, i) => w !== undefined && figuresOfCells(cells[i]!).connectionsOpen < o.perWorker,
          ),
      );
      o.listening(port);
      setInterval(() => stopping || check(), CHECK_MS).unref();
      if (again) void reload();
    }
  }
  return done.promise;
}

/** System calls by number on this machine: write(2), writev(2), poll(2), ppoll(2). */
const CALLS =
  process.arch === "arm64"
    ? { write: ["64", "66"], poll: ["73"] }
    : { write: ["1", "20"], poll: ["7", "271"] };

/**
 * Is this process blocked on its stdout or stderr (a full pipe, a terminal held by Ctrl-S)? Its
 * main thread's system call says so exactly (/proc/PID/syscall: the number, then the arguments):
 * write(2) on fd 1 or 2, or, as Bun does with a pipe it made non-blocking, poll(2) waiting for fd
 * 1 or 2 to take more (the pollfd array is read in /proc/PID/mem, which a parent may read).
 * wchan would only name a kernel function, different for a pipe, a terminal, a file.
 */
export function blockedOnOutput(pid: number): boolean {
  let call: string[];
  try {
    // Stopped (SIGSTOP) in the middle of a write is stopped, not waiting for a reader.
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    if (state === "T" || state === "t") return false;
    call = readFileSync(`/proc/${pid}/syscall`, "utf8").trim().split(" ");
  } catch {
    return false;
  }
  const [number, first, count] = call;
  if (CALLS.write.includes(number!)) return first === "0x1" || first === "0x2";
  if (!CALLS.poll.includes(number!)) return false;
  const n = Number(count);
  if (!(n >= 1 && n <= 16)) return false;
  try {
    const fd = openSync(`/proc/${pid}/mem`, "r");
    try {
      const fds = Buffer.alloc(8 * n); // struct pollfd { int fd; short events; short revents; }
      readSync(fd, fds, 0, fds.length, BigInt(first!) as unknown as number);
      for (let i = 0; i < n; i++) {
        const [watched, events] = [fds.readInt32LE(8 * i), fds.readInt16LE(8 * i + 4)];
        if ((watched === 1 || watched === 2) && events & 4 /* POLLOUT */) return true;
      }
      return false;
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not readable here (a stricter ptrace policy): the event loop itself never polls one
    // descriptor alone, so take that for its output.
    return n === 1;
  }
}

/**
 * Does a socket that is not one of our workers' listen on `port` at an address that overlaps
 * theirs? /proc/net/tcp and tcp6 list the listening sockets and their inodes; each worker's
 * /proc/PID/fd names the inodes it holds.
 */
export function othersListening(port: number, pids: number[]): boolean {
  const ours = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
        if (m) ours.add(m[1]!);
      }
    } catch {} // gone: nothing of it listens
  }
  const listening: { address: string; inode: string }[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A: LISTEN
      const [address, hexPort] = f[1]!.split(":");
      if (parseInt(hexPort!, 16) === port) listening.push({ address: address!, inode: f[9]! });
    }
  }
  const mine = listening.filter((l) => ours.has(l.inode)).map((l) => l.address);
  const wildcard = (a: string) => /^0+$/.test(a);
  return listening.some(
    (l) =>
      !ours.has(l.inode) &&
      (wildcard(l.address) || mine.some((a) => a === l.address || wildcard(a))),
  );
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

/** `echo_worker_restarts_total`, for the parent's /metrics. */
export function restartsExposition(restarts: number): string {
  return [
    "# HELP echo_worker_restarts_total Workers started again after they died or hung.",
    "# TYPE echo_worker_restarts_total counter",
    `echo_worker_restarts_total ${restarts}`,
    "",
  ].join("\n");
}
