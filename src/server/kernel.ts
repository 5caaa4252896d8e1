/**
 * What the kernel knows and Bun does not tell: how many files this process may open, and how
 * many echo bytes a socket still holds for its peer. Read from Linux's /proc; elsewhere these
 * answer `undefined` and the server does without.
 */
import { readFileSync } from "node:fs";

/** The soft limit on open files (`ulimit -n`), as Bun left it (it raises soft to hard). */
export function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Connections the server can hold open at once without running out of descriptors: some are
 * kept back for the listener, stdio, the event loop and one accept() to refuse with.
 */
export function connectionsWithin(limit: number): number {
  return Math.max(1, limit - Math.min(64, Math.floor(limit / 4)));
}

/**
 * Bytes a socket's kernel buffer still holds for the peer (written, not yet acknowledged): the
 * SIOCOUTQ ioctl, through bun:ffi, on Linux. A reader that takes its echo slowly shows here as a
 * shrinking queue, even when Bun calls no handler for seconds. `undefined` where it cannot be
 * asked. (Measured: 0.25 µs a call.)
 */
export function unsentBytes(socket: object): number | undefined {
  // Bun 1.4.5 sockets have an `fd` getter that its type definitions do not list.
  const fd = (socket as { fd?: unknown }).fd;
  if (typeof fd !== "number") return undefined;
  const ioctl = loadIoctl();
  if (ioctl === undefined || fd < 0) return undefined;
  return ioctl(fd, SIOCOUTQ, outq) === 0 ? outq[0] : undefined;
}

/**
 * What a peer did while its socket was not read (paused: Bun cannot tell), without reading:
 * whether it ended its side (its FIN waits in the kernel) or reset the connection, and how many of
 * its bytes wait unread. poll() with POLLRDHUP and the FIONREAD ioctl, through bun:ffi, on Linux.
 * A FIN says nothing of whether the peer still reads: a half-close and a close look the same until
 * something is sent back. `undefined` where it cannot be asked.
 */
export function peerWhileWaiting(
  socket: object,
): { ended: boolean; reset: boolean; unread: number } | undefined {
  const fd = (socket as { fd?: unknown }).fd;
  if (typeof fd !== "number" || fd < 0) return undefined;
  const poll = loadPoll();
  const ioctl = loadIoctl();
  if (poll === undefined || ioctl === undefined) return undefined;
  pollfd.fill(0);
  new DataView(pollfd.buffer).setInt32(0, fd, true);
  new DataView(pollfd.buffer).setInt16(4, POLLRDHUP | POLLHUP | POLLERR, true);
  if (poll(pollfd, 1, 0) < 0) return undefined;
  const events = new DataView(pollfd.buffer).getInt16(6, true);
  const reset = (events & (POLLHUP | POLLERR)) !== 0;
  const unread = ioctl(fd, FIONREAD, outq) === 0 ? (outq[0] ?? 0) : 0;
  return { ended: reset || (events & POLLRDHUP) !== 0, reset, unread };
}

const [POLLERR, POLLHUP, POLLRDHUP] = [0x008, 0x010, 0x2000]; // asm-generic/poll.h
const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
let pollFn: ((fds: Uint8Array, n: number, timeout: number) => number) | null | undefined;

function loadPoll() {
  if (pollFn !== undefined) return pollFn ?? undefined;
  pollFn = null;
  if (process.platform !== "linux") return undefined;
  try {
    const { dlopen, ptr } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", { poll: { args: ["ptr", "u64", "i32"], returns: "i32" } });
    pollFn = (fds, n, timeout) => libc.symbols.poll(ptr(fds), n, timeout) as number;
  } catch {
    return undefined; // another C library (musl), or no FFI: do without
  }
  return pollFn;
}

const SIOCOUTQ = 0x5411; // = TIOCOUTQ, linux/sockios.h
const FIONREAD = 0x541b; // = SIOCINQ: bytes received, not yet read
const outq = new Int32Array(1);
let ioctlFn: ((fd: number, request: number, out: Int32Array) => number) | null | undefined;

function loadIoctl() {
  if (ioctlFn !== undefined) return ioctlFn ?? undefined;
  ioctlFn = null;
  if (process.platform !== "linux") return undefined;
  try {
    const { dlopen, ptr } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", { ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" } });
    ioctlFn = (fd, request, out) => libc.symbols.ioctl(fd, request, ptr(out)) as number;
  } catch {
    return undefined; // another C library (musl), or no FFI: do without
  }
  return ioctlFn;
}
