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
        cells[TICK] = (cells[TICK] ?? 0) + 1;
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
/**
 * Not ready once one whole check has passed without a beat from a worker (four missed: stale
 * 1-2 s; a check's interval, never quite CHECK_MS, counts): the kernel may hand it the next
 * client, and it may be hung. Ready again when it beats again; ended at HUNG_AFTER_MS otherwise.
 */
const STALE_AFTER_MS = CHECK_MS / 2;
const QUICK_DEATH_MS = 1000; // a worker that ends this soon after starting...
const QUICK_DEATHS = 3; // ...this many times in a row is not restarted again

/** Runs the workers until they have all ended; resolves with the status to exit with. */
export function supervise(o: SuperviseOptions): Promise<number> {
  return new Supervisor(o).run();
}

/** One of the N places a worker serves in: the worker there now, and what the parent knows of it. */
interface Slot {
  readonly index: number; // K of ECHO_WORKER=K/N, from 1
  worker: Subprocess | undefined;
  /** Its worker's shared file; a blank one while none serves there. */
  cells: Float64Array;
  quickDeaths: number;
  /** The hang check's: the last beat seen, the parent's ms since it moved, and whose it was. */
  beat: number;
  still: number;
  watched: number;
}

const blank = () => new Float64Array(layout.cells);

/**
 * The parent's side of --workers: start a worker, watch it (`ended`), restart one that died,
 * replace them all on a reload, pass a stop on, and exit with one status once all have ended.
 */
class Supervisor {
  private readonly done = Promise.withResolvers<number>();
  private readonly slots: Slot[];
  // Replaced by a reload and draining, with their shared files: not deaths, not restarted.
  private readonly retiring = new Map<Subprocess, Float64Array>();
  private readonly replacements = new Set<Subprocess>(); // started by a reload, not listening yet
  private readonly tally: Tally;
  private readonly hangs: HangCheck;
  // The connection ids, shared by all the workers (see roleFrom); open here for good.
  private readonly idsFd: number;
  private port: number;
  private stopping = false;
  private ready = false; // every worker has listened once
  private exitCode = 0;
  private restarts = 0;
  private reloading = false;
  private again = false; // a SIGHUP came during a reload, or before the workers listened

  constructor(private readonly o: SuperviseOptions) {
    this.port = o.port;
    this.idsFd = sharedFile(8 * o.count);
    this.slots = Array.from({ length: o.count }, (_, i) => ({
      index: i + 1,
      worker: undefined,
      cells: blank(),
      quickDeaths: 0,
      beat: 0,
      still: 0,
      watched: 0,
    }));
    this.tally = new Tally(o.render);
    this.hangs = new HangCheck(o.hung);
  }

  async run(): Promise<number> {
    onStopSignal((signal) => this.stop(signal), this.o.reload && (() => void this.reload()));
    // The first worker settles the port (it may be 0: any free one); the others then join it.
    const [first, ...others] = this.slots;
    if (first && (await this.start(first)) && !this.stopping) {
      await Promise.all(others.map((slot) => this.start(slot)));
      if (!this.stopping) this.allListening();
    }
    return this.done.promise;
  }

  /** Every worker listens: they serve, unless another program listens on the port too. */
  private allListening(): void {
    const pids = this.slots.flatMap(({ worker }) => (worker === undefined ? [] : [worker.pid]));
    if (othersListening(this.port, pids)) {
      this.o.shared(this.port);
      return this.giveUp(1);
    }
    this.ready = true;
    this.o.serving?.(
      () => this.tally.sum([...this.slots.map((s) => s.cells), ...this.retiring.values()]),
      () => this.restarts,
      () =>
        !this.stopping &&
        this.slots.every(
          (s) =>
            s.worker !== undefined &&
            s.still < STALE_AFTER_MS &&
            this.tally.of(s.cells).connectionsOpen < this.o.perWorker,
        ),
    );
    this.o.listening(this.port);
    setInterval(() => this.stopping || this.hangs.run(this.slots), CHECK_MS).unref();
    if (this.again) void this.reload();
  }

  /**
   * Starts a worker in `slot`; resolves true once it listens, false if it ended first. A
   * `replacing` one (a reload) takes the slot only once it listens: until then the old one
   * serves, and a replacement that cannot start leaves it there.
   */
  private start(slot: Slot, replacing = false): Promise<boolean> {
    return new Promise((resolve) => {
      const startedAt = performance.now();
      const fd = sharedFile(layout.bytes);
      const mapped = layout.map(`/proc/self/fd/${fd}`);
      if (!mapped) throw new Error("cannot map a worker's shared file");
      if (!replacing) slot.cells = mapped;
      const child = this.spawn(slot.index, fd, (port) => {
        this.port = port;
        slot.quickDeaths = 0;
        if (replacing && !this.stopping) this.takeOver(slot, child, mapped); // stopping: the stop signal ends it
        resolve(true);
      });
      closeSync(fd); // mapped here, open there
      if (replacing) this.replacements.add(child);
      else slot.worker = child;
      child.exited.then((code) => {
        resolve(false);
        this.ended(slot, child, mapped, code, startedAt);
      });
    });
  }

  /** This program again, as worker `index`: the port, its shared file (`fd`), the ids' file. */
  private spawn(index: number, fd: number, listening: (port: number) => void): Subprocess {
    return Bun.spawn([...self(), ...process.argv.slice(2)], {
      env: {
        ...process.env,
        [WORKER_ENV]: `${index}/${this.o.count}`,
        [WORKER_PORT_ENV]: String(this.port),
        [WORKER_FILE_ENV]: SHARED_PATH,
        [WORKER_IDS_ENV]: IDS_PATH,
      },
      stdio: ["ignore", "inherit", "inherit", fd, this.idsFd], // its SHARED_FD and IDS_FD
      detached: true,
      ipc(report: WorkerReport) {
        // A worker's summary is in its shared file already, with those of the dead.
        if ("listening" in report) listening(report.listening);
      },
    });
  }

  /** A reload's new worker listens: it takes the slot, and the old one stops. */
  private takeOver(slot: Slot, child: Subprocess, mapped: Float64Array): void {
    this.replacements.delete(child);
    const old = slot.worker;
    if (old !== undefined) this.retiring.set(old, slot.cells);
    slot.worker = child;
    slot.cells = mapped;
    // As on SIGTERM: --stop-delay, then the drain; the new one already shares the port.
    old?.kill("SIGTERM");
  }

  /** A worker has ended: one retired by a reload, one stopped, or one that died. */
  private ended(
    slot: Slot,
    child: Subprocess,
    mapped: Float64Array,
    code: number,
    startedAt: number,
  ): void {
    const killed = child.signalCode !== null;
    if (child !== slot.worker) {
      // Replaced by a reload (and drained), or a replacement that never listened: neither
      // is a death, nor restarted. A drain that cut one during a reload is not a stop's.
      this.retiring.delete(child);
      this.replacements.delete(child);
      this.tally.retire(mapped, killed);
      if (this.stopping) this.stoppedWith(child, code);
      return;
    }
    slot.worker = undefined;
    this.tally.retire(mapped, killed);
    slot.cells = blank(); // nothing more to count here
    if (this.stopping) return this.stoppedWith(child, code);
    // Could not start (the port is taken, say): the worker has said why; so do we, by code.
    if (!this.ready) return this.giveUp(code || 1);
    this.died(slot, child, code, startedAt);
  }

  /** A serving worker died: said, and started again, unless it keeps dying as it starts. */
  private died(slot: Slot, child: Subprocess, code: number, startedAt: number): void {
    const signal = child.signalCode === null ? null : String(child.signalCode);
    this.o.died(slot.index, child.pid, signal ? null : code, signal);
    const quick = performance.now() - startedAt < QUICK_DEATH_MS;
    slot.quickDeaths = quick ? slot.quickDeaths + 1 : 0;
    if (slot.quickDeaths >= QUICK_DEATHS) {
      this.o.failing(slot.index);
      return this.giveUp(1);
    }
    this.restarts++;
    void this.start(slot).then((listening) => {
      const pid = slot.worker?.pid;
      if (listening && pid !== undefined) this.o.restarted(slot.index, pid);
    });
  }

  /** The workers cannot serve: all are stopped, and the parent exits with `code`. */
  private giveUp(code: number): void {
    this.exitCode = code;
    this.stop("SIGTERM");
    this.finishIfDone();
  }

  /** A worker ended during a stop: its status in the parent's. */
  private stoppedWith(child: Subprocess, code: number): void {
    // Ended by the stop signal itself: a worker still starting (one restarted a moment
    // ago) had no handler yet, and nothing open to lose.
    if (child.signalCode !== null) return this.finishIfDone();
    // A forced stop says so first, then a failure, then a drain that cut a connection.
    if (code === 129 || code === 130 || code === 143) this.exitCode = code;
    else if (code === DRAIN_CUT_STATUS) this.exitCode ||= code;
    else if (code !== 0 && (this.exitCode === 0 || this.exitCode === DRAIN_CUT_STATUS))
      this.exitCode = 1;
    this.finishIfDone();
  }

  private finishIfDone(): void {
    const none = this.slots.every((s) => s.worker === undefined);
    if (none && this.retiring.size + this.replacements.size === 0) {
      this.o.summary(this.tally.summary(), this.exitCode);
      this.done.resolve(this.exitCode);
    }
  }

  private stop(signal: StopSignal): void {
    // The old workers of a reload are stopping already: only a second signal (force) is theirs.
    const draining = this.stopping ? [...this.retiring.keys()] : [];
    if (!this.stopping) this.o.stopping();
    this.stopping = true;
    const serving = this.slots.map((s) => s.worker);
    for (const w of [...serving, ...this.replacements, ...draining])
      if (w !== undefined && w.exitCode === null) w.kill(signal);
  }

  /** SIGHUP: every worker replaced in turn; one that comes during a reload, one more after. */
  private async reload(): Promise<void> {
    if (this.stopping) return;
    if (this.reloading || !this.ready) {
      this.again = true;
      return this.o.reload?.queued();
    }
    this.reloading = true;
    while (!this.stopping) {
      this.again = false;
      await this.replaceAll();
      if (!this.again) break;
    }
    this.reloading = false;
  }

  /** One reload: each worker in turn, up to one whose replacement ended before it listened. */
  private async replaceAll(): Promise<void> {
    this.o.reload?.started(this.o.count);
    let replaced = 0;
    for (const slot of this.slots) {
      if (this.stopping || !(await this.start(slot, true))) break;
      replaced++;
    }
    if (this.stopping) return;
    if (replaced < this.o.count) this.o.reload?.failed(replaced + 1, replaced);
    else this.o.reload?.done(replaced);
  }
}

// What the counters alone decide: never this process's own CPU or memory, which would be
// taken for a worker's (and counted once per worker).
const counted = (c: Counters) => figuresOf(new Set(), c);

/**
 * What the workers counted. Each has a shared file (src/server/features/shared-figures.ts),
 * mapped by the parent and by the worker, and unlinked from the start: a parent killed by
 * SIGKILL leaves nothing behind. When a worker ends, what it counted is folded into `retired`,
 * and the next one in its slot gets a new file: the sums never go back (Prometheus would read
 * that as a reset), and a dead worker's gauges count 0.
 */
class Tally {
  private readonly gauges: ReturnType<typeof gaugeLeaves>;
  private readonly derived = derivedLeaves(noCounters, counted);
  private retired = noFigures();
  private retiredCounters = noCounters(); // for the summary: every worker's, the dead ones' too

  constructor(render: (f: Figures) => string) {
    this.gauges = gaugeLeaves(noFigures(), render);
  }

  /**
   * One worker's figures: its counters as stored (exact to the last byte), its snapshot for the
   * rest; for a counter both hold, the larger (the snapshot lags the counters).
   */
  of(c: Float64Array): Figures {
    const exact = only(counted(layout.readCounters(c)), this.derived);
    return combine(exact, layout.readFigures(c), Math.max);
  }

  /** The figures of these workers' files, and of every worker that has ended. */
  sum(files: Float64Array[]): Figures {
    return files.reduce((sum, c) => combine(sum, this.of(c), (a, b) => a + b), this.retired);
  }

  /** A worker has ended: what it counted stays in the sums, its gauges count 0. */
  retire(c: Float64Array, killed: boolean): void {
    this.retired = combine(this.retired, zeroed(this.of(c), this.gauges), (a, b) => a + b);
    const counters = layout.readCounters(c);
    // A killed worker never closed its open connections: what it handed the kernel for them
    // reached their clients all the same, so its summary counts that (as the metrics do).
    if (killed) counters.echoed = Math.max(counters.echoed, counters.written);
    this.retiredCounters = combine(this.retiredCounters, counters, (a, b) => a + b);
  }

  /** Every worker's, the dead ones' too. */
  summary(): Summary {
    const { connections, echoed } = this.retiredCounters;
    return { connections, echoed };
  }
}

/**
 * A worker is hung when its heartbeat has not moved for HUNG_AFTER_MS of the parent's own
 * running time: a parent that was itself stopped (SIGSTOP, Ctrl-Z) or blocked (its own output)
 * has seen nothing, and counts nothing; a worker blocked writing its log (a full pipe, a
 * terminal held by Ctrl-S) is waiting for its reader, as a single process would.
 */
class HangCheck {
  private lastCheck = performance.now();

  constructor(private readonly hung: SuperviseOptions["hung"]) {}

  run(slots: Slot[]): void {
    const at = performance.now();
    const elapsed = at - this.lastCheck;
    this.lastCheck = at;
    const parentPaused = elapsed > 2 * CHECK_MS;
    for (const slot of slots) this.look(slot, elapsed, parentPaused);
  }

  private look(slot: Slot, elapsed: number, parentPaused: boolean): void {
    const w = slot.worker;
    const beat = slot.cells[TICK] ?? 0;
    if (
      w === undefined ||
      w.exitCode !== null ||
      w.pid !== slot.watched || // a new worker starts afresh
      beat === 0 ||
      beat !== slot.beat ||
      parentPaused
    ) {
      slot.beat = beat;
      slot.still = 0;
      slot.watched = w?.pid ?? 0;
      return;
    }
    if (blockedOnOutput(w.pid)) return; // its reader holds it: not its fault, nor hung
    slot.still += elapsed;
    if (slot.still < HUNG_AFTER_MS) return;
    this.hung(slot.index, w.pid, slot.still / 1000);
    slot.still = 0;
    w.kill("SIGKILL");
  }
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
  const [number = "", first = "", count] = call;
  if (CALLS.write.includes(number)) return first === "0x1" || first === "0x2";
  if (!CALLS.poll.includes(number)) return false;
  const n = Number(count);
  if (!(n >= 1 && n <= 16)) return false;
  try {
    const fd = openSync(`/proc/${pid}/mem`, "r");
    try {
      const fds = Buffer.alloc(8 * n); // struct pollfd { int fd; short events; short revents; }
      readSync(fd, fds, 0, fds.length, BigInt(first) as unknown as number);
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
        const inode = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode !== undefined) ours.add(inode);
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
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (local === undefined || inode === undefined || state !== "0A") continue; // 0A: LISTEN
      const [address = "", hexPort = ""] = local.split(":");
      if (parseInt(hexPort, 16) === port) listening.push({ address, inode });
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
