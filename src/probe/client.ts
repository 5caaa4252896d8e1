/**
 * `bun run probe --client 'CMD'`: checks an echo client (a student's, in any language) the way a
 * grader would. The probe serves it a shaped echo of its own (src/server/features/shaping.ts: the
 * short lines come back one byte at a time, 10 ms apart, as a slow network may give them), types
 * lines on its stdin one at a time, then `fim`, and looks at what the client sent, printed, and
 * how it ended. The lab's classic bug, printing after the first recv(), shows on loopback here.
 *
 * The client runs as `sh -c CMD` in a process group of its own: whatever it started goes with it
 * when it hangs, and what left that group is found under the probe and ended too (or named, if it
 * outlasts the bound). Every wait is bounded; what is kept of its output and of what it sent is too.
 */
import type { Messages } from "../messages/index.ts";
import { ClientProcess, endOrphans } from "./client-process.ts";
import {
  type ClientCheckResult,
  encodings,
  grade,
  type Session,
  STOP_WORD,
  TYPED,
} from "./client-grade.ts";
import { ShapedEcho } from "./shaped-echo.ts";

/** Short lines: a byte at a time, 10 ms apart. The long one in pieces of up to 1 KiB, as fast. */
const SHORT_SHAPE = { slice: 1, random: false, delay: 0.01, seed: 1 };
const BIG_SHAPE = { slice: 1024, random: true, delay: 0.01, seed: 1 };
/** After an empty line a client may send a newline or nothing: this long tells them apart. */
const EMPTY_LINE_MS = 300;
/** How long a client has to print an echo once it is all back (it is on loopback). */
const PRINT_MS = 1000;
/** The first line also waits for the client to start (a runtime loading, on a busy machine). */
const STARTUP_MS = 3000;

/** Polls a condition every 10 ms for at most `ms`; true once it holds. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(10);
  }
  return true;
}

export async function probeClient(
  t: Messages,
  command: string,
  timeoutMs: number,
  /** Told where the probe's server listens, before the client starts. */
  listening: (address: string) => void = () => {},
): Promise<{ results: ClientCheckResult[]; port: number }> {
  const started = performance.now();
  const server = new ShapedEcho(t, SHORT_SHAPE);
  listening(`127.0.0.1:${server.port}`);
  const client = new ClientProcess(command, server.port);
  const session: Session = {
    linesTyped: 0,
    linesSent: 0,
    fimTyped: false,
    piecesOf: [],
    exitedOnFim: false,
    exitedOnEof: false,
  };
  try {
    await converse(server, client, session, timeoutMs);
  } finally {
    client.kill();
    client.endInput();
    await client.proc.exited;
    session.leftRunning = await endOrphans();
    // A grandchild that left the group may still hold the pipes: not waited for long.
    await Promise.race([client.done, Bun.sleep(500)]);
    // The client's FIN or reset, if it is on its way.
    await until(() => server.allClosed, 200);
    server.stop();
  }
  return { results: grade(t, server, client, session, started), port: server.port };
}

/** Types each line once the previous one has been sent and echoed, then `fim`. */
async function converse(
  server: ShapedEcho,
  client: ClientProcess,
  session: Session,
  timeoutMs: number,
): Promise<void> {
  for (const line of TYPED) {
    if (client.exited) return;
    Object.assign(server.shape, line.length > 1024 ? BIG_SHAPE : SHORT_SHAPE);
    const [before, pieces] = [server.receivedBytes, server.pieces];
    const forms = encodings(line);
    // A line sent in another encoding (Latin-1, NFD) is sent all the same: the typed check says
    // how; the conversation goes on.
    const sentAs = () => {
      if (forms.length === 1) return undefined;
      const came = server.bytesFrom(before);
      return forms.find((f) => came.subarray(0, f.bytes.length).equals(f.bytes));
    };
    let size = Buffer.byteLength(line);
    const printedAt = client.output.length;
    client.type(line + "\n");
    session.linesTyped++;
    if (size === 0) {
      await until(() => server.receivedBytes > before || client.exited, EMPTY_LINE_MS);
      // It left on the empty line (a crash on it, say): that line was not sent.
      if (client.exited && server.receivedBytes === before) return;
    } else {
      const waitMs = timeoutMs + (session.linesSent === 0 ? STARTUP_MS : 0);
      const sent = () => server.receivedBytes >= before + size || sentAs() !== undefined;
      await until(() => sent() || client.exited, waitMs);
      if (!sent()) return void (await waitingForEnd(server, client, session));
      size = sentAs()?.bytes.length ?? size;
    }
    session.linesSent++;
    // A short line's echo comes back a byte every 10 ms: a client that shows the whole line
    // before its last byte has been sent shows what was typed, not what came back.
    const early = () =>
      line.length <= 1024 &&
      size > 1 &&
      server.pieces - pieces < size &&
      client.output.slice(printedAt).includes(line);
    await until(() => server.idle || client.exited || early(), timeoutMs);
    if (early()) session.printedEarly ??= line;
    await until(() => server.idle || client.exited, timeoutMs);
    session.piecesOf.push(server.pieces - pieces);
    if (size > 0) await until(() => client.output.includes(line) || client.exited, PRINT_MS);
  }
  if (client.exited) return;
  client.type(STOP_WORD + "\n");
  session.fimTyped = true;
  session.exitedOnFim = await until(() => client.exited, timeoutMs);
  if (session.exitedOnFim) return;
  client.endInput();
  session.exitedOnEof = await until(() => client.exited, Math.min(timeoutMs, 2000));
}

/**
 * Stuck after a line whose echo came back whole and was never printed: a client that reads
 * until recv() returns 0 waits for the connection to end. The probe's server closes its side
 * to see whether the echo then comes out.
 */
async function waitingForEnd(server: ShapedEcho, client: ClientProcess, session: Session) {
  const last = TYPED[session.linesSent - 1];
  if (!last || client.exited || !server.idle || client.output.includes(last)) return;
  server.finish();
  if (await until(() => client.output.includes(last), PRINT_MS)) session.waitsForEnd = last;
}
