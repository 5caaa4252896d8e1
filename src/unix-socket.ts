/**
 * `--unix PATH`: a Unix-domain socket is a file, and a file can be left behind. Before listening:
 * a socket file where nobody answers is what a crashed server leaves (replaced); one where a
 * server answers is in use (refused, that server untouched); anything else is not ours to delete.
 */
import { existsSync, lstatSync, unlinkSync, accessSync, constants } from "node:fs";
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
  if (await answers(path)) return "inUse";
  unlinkSync(path); // stale: left by a server that did not exit cleanly
  return undefined;
}

/** Does a server accept connections on this socket file? (Connects and leaves at once.) */
async function answers(path: string): Promise<boolean> {
  try {
    const socket = await Bun.connect({ unix: path, socket: { data() {}, error() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** The server's own socket file goes when the server does. */
export function removeOnExit(path: string): void {
  process.on("exit", () => {
    try {
      unlinkSync(path);
    } catch {} // already gone
  });
}
