/** The echo server started for a test, stand-in servers, and small waits. */
import { type Socket, type TCPSocketListener } from "bun";
import { listeningAddress } from "./processes.ts";
import { type Child, run } from "./children.ts";

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
  const { host, port } = await listeningAddress(child.out).catch(async (error) => {
    throw new Error(`${error.message}\nstderr:\n${child.err.text}`);
  });
  return { ...child, host, port };
}

/**
 * Server arguments for watching backpressure: concurrent, and with --trace alone (pause, drain,
 * resume, end, close on stderr) without a line per message on stdout.
 */
export const TRACE_ONLY = ["--mode", "concurrent", "--quiet", "--trace"];

/**
 * A stand-in server on a free port, for what the real one never does: it records the bytes it
 * receives and answers each piece with `reply` (nothing, a changed echo, a flood...).
 */
export function testServer(reply: (socket: Socket<undefined>, bytes: Uint8Array) => void) {
  const received: Uint8Array[] = [];
  const listener: TCPSocketListener<undefined> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      data(socket, bytes: Uint8Array) {
        received.push(bytes.slice());
        reply(socket, bytes);
      },
    },
  });
  return {
    port: listener.port,
    received: () => Buffer.concat(received).toString("utf8"),
    [Symbol.dispose]: () => listener.stop(true),
  };
}

/** A port that was free a moment ago (listened on, then closed): nothing listens there now. */
export function freePort(): number {
  using probe = testServer(() => {});
  return probe.port;
}

export function have(program: string): boolean {
  return Bun.which(program) !== null;
}

/** Whether a process is still running (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls a condition nothing announces, every 20 ms, for at most `withinMs` (by default until the
 * test's own timeout); resolves with whether it came true, so an `expect` after it can say how not.
 */
export async function until(condition: () => boolean, withinMs = Infinity): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(20);
  }
  return true;
}
