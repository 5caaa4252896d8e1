/**
 * `--unix PATH`: a Unix-domain socket is a file, and a file can be left behind. Before listening:
 * a socket file where nobody answers is what a crashed server leaves (replaced); one where a
 * server answers is in use (refused, that server untouched); anything else is not ours to delete.
 */
import { existsSync, lstatSync, unlinkSync, accessSync, constants } from "node:fs";
import { errorCode } from "./errors.ts";
import { dirname } from "node:path";

export type UnixProblem = "inUse" | "notSocket" | "noDirectory" | "denied";

/** Makes PATH free to listen on, or says why it cannot be. */
export async function claimSocketPath(path: string): Promise<UnixProblem | undefined> {
  const dir = dirname(path);
  if (!existsSync(dir)) return "noDirectory";
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
  let ours: number;
  try {
    ours = lstatSync(path).ino;
  } catch {
    return;
  }
  process.on("exit", () => {
    try {
      if (lstatSync(path).ino === ours) unlinkSync(path);
    } catch {} // already gone
  });
}
