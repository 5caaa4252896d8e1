/**
 * --workers: each worker's figures in a small file of its own, mapped shared (Bun.mmap), which
 * the supervisor reads. Stores land in the page cache at once, so they outlive the worker: a
 * worker killed by SIGKILL loses nothing it had counted, and /metrics needs no request to it.
 *
 * Nothing here knows which figures there are: the layout follows the shape of `noCounters()` and
 * `noFigures()` (numbers, records of numbers, fixed-length arrays of numbers), so a new field
 * is shared as soon as it is in those shapes.
 *
 * A file, as 64-bit floats (whole numbers stay exact up to 2^53):
 *   [0] heartbeat: the worker's timer adds 1 (its event loop turns)
 *   [1] counters, stored by the hot path as they change (the shape of `noCounters()`)
 *   [1 + counters] figures, a snapshot taken by the worker's timer (the shape of `noFigures()`)
 */
import { dlopen, FFIType } from "bun:ffi";
import { ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Path = (string | number)[];
const HEAD = 1;
export const TICK = 0;

/** The paths of a shape's numbers, in a fixed order (the same in every process). */
function leavesOf(shape: unknown, path: Path = [], out: Path[] = []): Path[] {
  if (typeof shape === "number") out.push(path);
  else if (Array.isArray(shape)) shape.forEach((v, i) => leavesOf(v, [...path, i], out));
  else if (shape !== null && typeof shape === "object")
    for (const key of Object.keys(shape)) leavesOf((shape as never)[key], [...path, key], out);
  return out;
}

const getAt = (o: unknown, path: Path): number =>
  (path.reduce((v: unknown, k) => (v as Record<string | number, unknown> | undefined)?.[k], o) as
    number | undefined) ?? 0;

function setAt(o: unknown, path: Path, value: number): void {
  const key = path.at(-1);
  if (key === undefined) return; // the root is no leaf
  const parent = path.slice(0, -1).reduce((v: unknown, k) => (v as never)[k], o);
  (parent as Record<string | number, number>)[key] = value;
}

/** The layout of one worker's file: where its counters and its figures start, and its size. */
export class Layout<C extends object, F extends object> {
  readonly counters: Path[];
  readonly figures: Path[];
  readonly cells: number;
  constructor(
    readonly noCounters: () => C,
    readonly noFigures: () => F,
  ) {
    this.counters = leavesOf(noCounters());
    this.figures = leavesOf(noFigures());
    this.cells = HEAD + this.counters.length + this.figures.length;
  }
  get bytes(): number {
    return this.cells * 8;
  }
  get figuresAt(): number {
    return HEAD + this.counters.length;
  }

  /** Maps a file made for this layout; undefined if it cannot be (gone, or the wrong size). */
  map(path: string): Float64Array | undefined {
    try {
      const bytes = Bun.mmap(path);
      if (bytes.byteLength < this.bytes) return undefined;
      return new Float64Array(bytes.buffer, bytes.byteOffset, this.cells);
    } catch {
      return undefined;
    }
  }

  /**
   * Counters shaped as `noCounters()` whose every number lives in `cells`: `stats.received += n`
   * is a store into the shared file, as synchronous as the plain object it replaces.
   */
  backed(cells: Float64Array): C {
    const shape = this.noCounters();
    let next = HEAD;
    const build = (value: unknown): unknown => {
      if (Array.isArray(value)) {
        const view = cells.subarray(next, (next += value.length));
        view.set(value as number[]);
        const index = (p: string | symbol) => (typeof p === "string" && /^\d+$/.test(p) ? +p : -1);
        return new Proxy(value, {
          get: (target, p, receiver) => {
            const i = index(p);
            return i >= 0 && i < view.length ? view[i] : Reflect.get(target, p, receiver);
          },
          set: (target, p, v, receiver) => {
            const i = index(p);
            if (i < 0 || i >= view.length) return Reflect.set(target, p, v, receiver);
            view[i] = v;
            return true;
          },
        });
      }
      const out = {};
      for (const [key, v] of Object.entries(value as object)) {
        if (typeof v !== "number") {
          Object.defineProperty(out, key, { value: build(v), enumerable: true });
          continue;
        }
        const at = next++;
        cells[at] = v;
        Object.defineProperty(out, key, {
          get: () => cells[at],
          set: (n: number) => void (cells[at] = n),
          enumerable: true,
        });
      }
      return out;
    };
    return build(shape) as C;
  }

  readCounters(cells: Float64Array): C {
    return this.read(this.noCounters(), this.counters, cells, HEAD);
  }
  readFigures(cells: Float64Array): F {
    return this.read(this.noFigures(), this.figures, cells, this.figuresAt);
  }
  writeFigures(cells: Float64Array, figures: F): void {
    this.figures.forEach((path, i) => (cells[this.figuresAt + i] = getAt(figures, path)));
  }

  private read<T>(shape: T, paths: Path[], cells: Float64Array, at: number): T {
    paths.forEach((path, i) => setAt(shape, path, cells[at + i]!));
    return shape;
  }
}

/** Leaf by leaf, `op` of two objects of one shape (a new object). */
export function combine<T>(a: T, b: T, op: (x: number, y: number) => number): T {
  const out = structuredClone(a);
  for (const path of leavesOf(a)) setAt(out, path, op(getAt(a, path), getAt(b, path)));
  return out;
}

/**
 * The figures' leaves that the counters decide (`from` of counters whose leaf changes moves
 * them): the parent takes those from the counters, exact; the others (gauges, and figures a
 * process measures of itself) only from the worker's snapshot, never from its own process.
 */
export function derivedLeaves<C, F>(noCounters: () => C, from: (c: C) => F): Path[] {
  const base = from(noCounters());
  const moved = new Set<string>();
  for (const path of leavesOf(noCounters())) {
    const probe = noCounters();
    setAt(probe, path, getAt(probe, path) + 7);
    const f = from(probe);
    for (const leaf of leavesOf(base))
      if (getAt(f, leaf) !== getAt(base, leaf)) moved.add(JSON.stringify(leaf));
  }
  return leavesOf(base).filter((leaf) => moved.has(JSON.stringify(leaf)));
}

/** A copy of `o` with only the leaves at `paths` kept, the others 0. */
export function only<T>(o: T, paths: Path[]): T {
  const out = structuredClone(o);
  for (const path of leavesOf(o)) setAt(out, path, 0);
  for (const path of paths) setAt(out, path, getAt(o, path));
  return out;
}

/** A copy of `o` with the leaves at `paths` 0. */
export function zeroed<T>(o: T, paths: Path[]): T {
  const out = structuredClone(o);
  for (const path of paths) setAt(out, path, 0);
  return out;
}

/** The figures' leaves that feed a gauge of the exposition (zero for a worker that has died). */
export function gaugeLeaves<F>(zero: F, render: (f: F) => string): Path[] {
  const text = render(zero);
  const base = new Set(text.split("\n"));
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [, name, type] = /^# TYPE (\S+) (\S+)/.exec(line) ?? [];
    if (name !== undefined && type !== undefined) types.set(name, type);
  }
  const typeOf = (sample: string) =>
    types.get(sample) ?? types.get(sample.replace(/_(bucket|sum|count)$/, ""));
  return leavesOf(zero).filter((path) => {
    const probe = structuredClone(zero);
    setAt(probe, path, getAt(zero, path) + 7);
    const changed = render(probe)
      .split("\n")
      .filter((line) => !base.has(line) && !line.startsWith("#"));
    return changed.some((line) => {
      const [sample = ""] = line.split(/[{ ]/);
      return typeOf(sample) === "gauge";
    });
  });
}

/** Where a worker finds its file: the descriptor its parent passes it (see `sharedFile`). */
export const SHARED_FD = 3;
export const SHARED_PATH = `/proc/self/fd/${SHARED_FD}`;
/** And the file of connection ids that all workers share (64-bit integers, added atomically). */
export const IDS_FD = 4;
export const IDS_PATH = `/proc/self/fd/${IDS_FD}`;

/**
 * A new file of `bytes` zeros for one worker, open as the descriptor returned (the parent maps
 * it through `/proc/self/fd/N`, and hands it to the worker as its SHARED_FD). In memory, with
 * no name (memfd_create, Linux): a container's root may be read-only and have no /tmp at all.
 * Elsewhere, a file in the temporary folder, already unlinked with its private directory. Either
 * way the descriptors and mappings keep it alive, and nothing is left on disk, whatever ends
 * the processes.
 */
export function sharedFile(bytes: number): number {
  const fd = memfd();
  if (fd !== undefined) {
    ftruncateSync(fd, bytes);
    return fd;
  }
  const dir = mkdtempSync(join(tmpdir(), "echo-worker-"));
  const path = join(dir, "figures");
  try {
    writeFileSync(path, new Uint8Array(bytes), { mode: 0o600 });
    return openSync(path, "r+");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An anonymous file in memory, or undefined where the C library has no memfd_create. */
function memfd(): number | undefined {
  try {
    const libc = dlopen("libc.so.6", {
      memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
    });
    const fd = libc.symbols.memfd_create(Buffer.from("echo-figures\0"), 0);
    return fd >= 0 ? fd : undefined;
  } catch {
    return undefined;
  }
}
