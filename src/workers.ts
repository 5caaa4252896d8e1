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
import { type Figures, retired as retiredFigures } from "./metrics.ts";
import { DRAIN_CUT_STATUS, onStopSignal, type StopSignal } from "./signals.ts";
import { compiled } from "./self.ts";

/** Set by the parent in each worker's environment: "K/N", and the port they all share. */
export const WORKER_ENV = "ECHO_WORKER";
export const WORKER_PORT_ENV = "ECHO_WORKER_PORT";

/** Worker → parent. */
export type WorkerReport =
  { listening: number } | { summary: Summary } | { figures: Figures; request: number };
/** Parent → worker: send your figures now (for GET /metrics). */
export type WorkerRequest = { figuresRequest: number };

export interface Summary {
  connections: number;
  echoed: number;
}

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
  /** A worker answers its parent's requests for its figures (the parent serves /metrics). */
  answerFigures(figures: () => Figures): void;
}

export function roleFrom(env: Record<string, string | undefined>): Role {
  const m = /^(\d+)\/(\d+)$/.exec(env[WORKER_ENV] ?? "");
  if (!m) {
    return {
      alone: true,
      nextId: (k) => k + 1,
      port: (configured) => configured,
      listening: (_port, announce) => announce(),
      finish: async (_summary, print) => print(),
      onOrphaned: () => {},
      answerFigures: () => {},
    };
  }
  const [index, count] = [Number(m[1]), Number(m[2])];
  return {
    alone: false,
    worker: index,
    nextId: (k) => k * count + index,
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
    answerFigures: (figures) =>
      process.on("message", (m: WorkerRequest) => {
        if (typeof m?.figuresRequest === "number")
          process.send?.({ figures: figures(), request: m.figuresRequest } satisfies WorkerReport);
      }),
  };
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

export interface SuperviseOptions {
  count: number;
  port: number; // 0: the first worker picks one, the others join it
  listening: (port: number) => void; // all workers are listening
  stopping: () => void; // the first stop signal arrived
  /** Every worker has ended: the figures of them all, and the status to exit with. */
  summary: (totals: Summary, exitCode: number) => void;
  died: (index: number, pid: number, code: number | null, signal: string | null) => void;
  /** A worker stopped answering: it is ended now, and started again once it has gone. */
  hung: (index: number, pid: number, seconds: number) => void;
  failing: (index: number) => void;
  /** Every worker listens: `collect` asks each one for its figures, `ready` says if all serve. */
  serving?: (collect: () => Promise<Figures[]>, ready: () => boolean) => void;
}

/**
 * How to start this program again. From source that is `bun server.ts`; a single-file
 * executable (bun build --compile) is the program itself, and its Bun.main is a virtual path.
 */
function self(): string[] {
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

/**
 * A worker that answers nothing for this long is hung (a blocked event loop, a stopped process):
 * it still holds its share of the port, and the kernel goes on sending it clients.
 */
export const HUNG_AFTER_MS = 5000;
const QUICK_DEATH_MS = 1000; // a worker that ends this soon after starting...
const QUICK_DEATHS = 3; // ...this many times in a row is not restarted again

/** Runs the workers until they have all ended; resolves with the status to exit with. */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const done = Promise.withResolvers<number>();
  const workers: (Subprocess | undefined)[] = new Array(o.count);
  const totals = { connections: 0, echoed: 0 };
  const quickDeaths = new Array<number>(o.count).fill(0);
  let port = o.port;
  let stopping = false;
  let ready = false; // every worker has listened once
  let exitCode = 0;
  const answers = new Map<number, { got: Map<number, Figures>; done: () => void; left: number }>();
  // A worker that dies takes its counters with it, and one that hangs cannot answer: what it
  // last reported is kept, so that the sums /metrics shows never go backwards (Prometheus would
  // read that as a reset).
  const lastKnown = new Map<number, Figures>();
  const retired: Figures[] = [];
  const answered = new Map<number, number>(); // worker index: when it last said anything
  let requests = 0;
  /**
   * Asks every running worker for its figures; one that does not answer within 1 s counts with
   * what it last reported.
   */
  const collect = (): Promise<Figures[]> => {
    const running = workers.flatMap((w, i) => (w === undefined ? [] : [{ w, index: i + 1 }]));
    const request = ++requests;
    return new Promise((resolve) => {
      const entry = { got: new Map<number, Figures>(), left: running.length, done: () => {} };
      entry.done = () => {
        answers.delete(request);
        const latest = running.map(({ index }) => entry.got.get(index) ?? lastKnown.get(index));
        resolve([...latest.filter((f) => f !== undefined), ...retired]);
      };
      answers.set(request, entry);
      for (const { w } of running) w.send({ figuresRequest: request } satisfies WorkerRequest);
      if (running.length === 0) entry.done();
      setTimeout(entry.done, 1000).unref();
    });
  };

  const finishIfDone = () => {
    if (workers.every((w) => w === undefined)) {
      o.summary(totals, exitCode);
      done.resolve(exitCode);
    }
  };

  /** Starts worker `index`; resolves true once it listens, false if it ended first. */
  const start = (index: number): Promise<boolean> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const child = Bun.spawn([...self(), ...process.argv.slice(2)], {
        env: {
          ...process.env,
          [WORKER_ENV]: `${index}/${o.count}`,
          [WORKER_PORT_ENV]: String(port),
        },
        stdio: ["ignore", "inherit", "inherit"],
        detached: true,
        ipc(report: WorkerReport) {
          answered.set(index, performance.now());
          if ("figures" in report) {
            const entry = answers.get(report.request);
            if (entry === undefined) return;
            entry.got.set(index, report.figures);
            lastKnown.set(index, report.figures);
            if (--entry.left === 0) entry.done();
          } else if ("listening" in report) {
            port = report.listening;
            quickDeaths[index - 1] = 0;
            resolve(true);
          } else {
            totals.connections += report.summary.connections;
            totals.echoed += report.summary.echoed;
          }
        },
      });
      workers[index - 1] = child;
      child.exited.then((code) => {
        workers[index - 1] = undefined;
        resolve(false);
        if (stopping) {
          // Ended by the stop signal itself: a worker still starting (one restarted a moment
          // ago) had no handler yet, and nothing open to lose.
          if (child.signalCode !== null) return finishIfDone();
          // A forced stop says so first, then a failure, then a drain that cut a connection.
          if (code === 129 || code === 130 || code === 143) exitCode = code;
          else if (code === DRAIN_CUT_STATUS) exitCode ||= code;
          else if (code !== 0 && (exitCode === 0 || exitCode === DRAIN_CUT_STATUS)) exitCode = 1;
          return finishIfDone();
        }
        if (!ready) {
          // Could not start (the port is taken, say): the worker has said why; so do we, by code.
          exitCode = code || 1;
          stop("SIGTERM");
          return finishIfDone();
        }
        const signal = child.signalCode === null ? null : String(child.signalCode);
        o.died(index, child.pid, signal ? null : code, signal);
        const last = lastKnown.get(index);
        if (last) retired.push(retiredFigures(last));
        lastKnown.delete(index);
        const quick = performance.now() - startedAt < QUICK_DEATH_MS;
        quickDeaths[index - 1] = quick ? quickDeaths[index - 1]! + 1 : 0;
        if (quickDeaths[index - 1]! >= QUICK_DEATHS) {
          o.failing(index);
          exitCode = 1;
          stop("SIGTERM");
          return finishIfDone();
        }
        start(index);
      });
    });

  const stop = (signal: StopSignal) => {
    if (!stopping) o.stopping();
    stopping = true;
    for (const w of workers) if (w !== undefined && w.exitCode === null) w.kill(signal);
  };
  onStopSignal(stop);

  // The first worker settles the port (it may be 0: any free one); the others then join it.
  if ((await start(1)) && !stopping) {
    await Promise.all(Array.from({ length: o.count - 1 }, (_, i) => start(i + 2)));
    if (!stopping) {
      ready = true;
      o.serving?.(collect, () => !stopping && workers.every((w) => w !== undefined));
      o.listening(port);
      // Each worker is asked for its figures every second; one silent too long is ended, and
      // started again as one that died.
      setInterval(() => {
        if (stopping) return;
        void collect();
        workers.forEach((w, i) => {
          const silent = performance.now() - (answered.get(i + 1) ?? performance.now());
          if (w === undefined || w.exitCode !== null || silent < HUNG_AFTER_MS) return;
          answered.delete(i + 1);
          o.hung(i + 1, w.pid, silent / 1000);
          w.kill("SIGKILL");
        });
      }, 1000).unref();
    }
  }
  return done.promise;
}
