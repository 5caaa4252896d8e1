/**
 * `--unix PATH`: a Unix-domain socket is a file, and a file can be left behind. Before listening:
 * a socket file where nobody answers is what a crashed server leaves (replaced); one where a
 * server answers is in use (refused, that server untouched); anything else is not ours to delete.
 */
import {
  accessSync,
  constants,
  existsSync,
  linkSync,
  lstatSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { errorCode } from "../../common/errors.ts";
import { dirname, resolve } from "node:path";

export type UnixProblem = "inUse" | "notSocket" | "noDirectory" | "denied";

/** Makes PATH free to listen on, or says why it cannot be. */
export async function claimSocketPath(path: string): Promise<UnixProblem | undefined> {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return "noDirectory"; // or a file
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return "denied";
  }
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return undefined; // nothing there
  }
  if (!stat.isSocket()) return "notSocket";
  // Looked up, not connected to: a connection would show in that server's log and metrics.
  if (listening(path)) return "inUse";
  const answer = await answers(path);
  if (answer === "yes") return "inUse";
  if (answer === "denied") return "denied"; // someone's, and not ours to judge or delete
  try {
    unlinkSync(path); // stale: left by a server that did not exit cleanly
  } catch (error) {
    const code = errorCode(error);
    if (code === "EPERM" || code === "EACCES") return "denied";
    // ENOENT: another server starting at the same moment removed it first; listen() decides.
  }
  return undefined;
}

/**
 * Linux lists the listening Unix sockets of this network namespace in /proc/net/unix: flags
 * __SO_ACCEPTCON (00010000), type SOCK_STREAM (0001), state unconnected (01), then the path as
 * it was bound (maybe relative: both forms are looked for). Not found, or no /proc: the caller
 * still connects to make sure (a server bound through another path, or in another namespace).
 */
export function listening(path: string, table = procNetUnix()): boolean {
  if (table === undefined) return false;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // A path ends where the next entry (or the table) does: it may hold newlines itself.
  const entry = (p: string) =>
    new RegExp(
      `(?:^|\\n)[0-9a-fA-F]+: [0-9A-F]+ [0-9A-F]+ 00010000 0001 01 +\\d+ ${escape(p)}(?=\\n[0-9a-fA-F]+: |\\n?$)`,
    );
  return [path, resolve(path)].some((p) => entry(p).test(table));
}

function procNetUnix(): string | undefined {
  try {
    return readFileSync("/proc/net/unix", "utf8");
  } catch {
    return undefined;
  }
}

/** Does a server accept connections on this socket file? (Connects and leaves at once.) */
async function answers(path: string): Promise<"yes" | "no" | "denied"> {
  try {
    const socket = await Bun.connect({ unix: path, socket: { data() {}, error() {} } });
    socket.end();
    return "yes";
  } catch (error) {
    const code = errorCode(error);
    return code === "EACCES" || code === "EPERM" ? "denied" : "no";
  }
}

/**
 * The server's own socket file goes when the server does: only that file, the one it bound
 * (same inode), never one another server put at the same path since.
 */
export function removeOnExit(path: string): void {
  const ours = inodeOf(path);
  if (ours === undefined) return;
  bound.set(path, ours);
  process.on("exit", () => {
    try {
      if (inodeOf(path) === ours) unlinkSync(path);
    } catch {} // gone meanwhile
  });
}

/** The inode each listener bound, by path. */
const bound = new Map<string, number>();

const inodeOf = (path: string) => {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined; // gone
  }
};

/**
 * Stops a listener. Bun's stop() removes the socket file by its name: when another server has
 * put its own file there since, that file is linked aside first and put back after, so that
 * stopping this server does not cut that one off.
 */
export function stopKeepingNewer(stop: () => void, path: string | undefined): void {
  const ours = path === undefined ? undefined : bound.get(path);
  const there = path === undefined ? undefined : inodeOf(path);
  if (path === undefined || ours === undefined || there === undefined || there === ours)
    return stop();
  const aside = `${path}.${process.pid}.keep`;
  try {
    linkSync(path, aside);
  } catch {
    return stop(); // cannot keep it aside (a full or read-only folder): as before
  }
  try {
    stop();
  } finally {
    renameSync(aside, path);
  }
}
