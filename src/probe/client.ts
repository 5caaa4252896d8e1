/**
 * `bun run probe --client 'CMD'`: checks an echo client (a student's, in any language) the way a
 * grader would. The probe serves it a shaped echo of its own (src/server/features/shaping.ts: the
 * short lines come back one byte at a time, 10 ms apart, as a slow network may give them), types
 * lines on its stdin one at a time, then `fim`, and looks at what the client sent, printed, and
 * how it ended. The lab's classic bug, printing after the first recv(), shows on loopback here.
 *
 * The client runs as `sh -c CMD` in a process group of its own: whatever it started goes with it
 * when it hangs. Every wait is bounded; what is kept of its output and of what it sent is too.
 */
import { dlopen, FFIType } from "bun:ffi";
import { readdirSync, readFileSync } from "node:fs";
import type { Socket } from "bun";
import type { Messages } from "../messages/index.ts";
import { Outbox } from "../common/outbox.ts";
import { preview } from "../common/text.ts";
import { type Conn, newConn } from "../server/connection.ts";
import { Shaper, type Shaping } from "../server/features/shaping.ts";

export type ClientCheckId = "echoes" | "typed" | "slowServer" | "fim" | "closes" | "exit";
type Cause = keyof Messages["probeClient"]["cause"];

export interface ClientCheckResult {
  id: ClientCheckId;
  name: string;
  passed: boolean;
  sent: string;
  got: string;
  code?: Cause | "notRun";
  cause?: string;
  advice?: string;
  ms: number;
}

/** What is typed: short ASCII, accented UTF-8, an empty line, 10 KB; then `fim`. */
const BIG =
  "10 KB line: " + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(300).slice(0, 10240 - 12);
export const TYPED = ["hello, echo", "ação, coração e pão de açúcar", "", BIG] as const;
const STOP_WORD = "fim";

/** Short lines: a byte at a time, 10 ms apart. The long one in pieces of up to 1 KiB, as fast. */
const SHORT_SHAPE = { slice: 1, random: false, delay: 0.01, seed: 1 };
const BIG_SHAPE = { slice: 1024, random: true, delay: 0.01, seed: 1 };
/** After an empty line a client may send a newline or nothing: this long tells them apart. */
const EMPTY_LINE_MS = 300;
/** How long a client has to print an echo once it is all back (it is on loopback). */
const PRINT_MS = 1000;
/** The first line also waits for the client to start (a runtime loading, on a busy machine). */
const STARTUP_MS = 3000;
/** What is kept of the client's stdout, and of what it sends: far more than the lab needs. */
const MAX_KEPT = 1 << 20;
/** The echo held for a client that does not read: then the probe's server stops reading. */
const MAX_HELD = 256 * 1024;

const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text);

/** Polls a condition every 10 ms for at most `ms`; true once it holds. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(10);
  }
  return true;
}

/** The probe's own echo server: one client, its echo shaped, everything it sends kept. */
class ShapedEcho {
  readonly shape: Shaping = { ...SHORT_SHAPE };
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  /** Pieces written, and of how many bytes in all. */
  pieces = 0;
  echoed = 0;
  finSeen = false;
  /** When the FIN or the reset came: one that came after the probe killed the client is not its own. */
  endedAt = Infinity;
  reset = false;
  closed = false;
  otherConnections = 0;
  private socket: Socket<Conn> | undefined;
  private shaper: Shaper | undefined;
  private readonly outbox = new Outbox();
  private readonly listener;

  constructor(t: Messages) {
    const clock = { now: performance.now() };
    this.listener = Bun.listen<Conn>({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: {
        binaryType: "buffer",
        open: (socket) => {
          if (this.socket !== undefined) {
            this.otherConnections++;
            return void socket.end();
          }
          socket.data = newConn(1, performance.now());
          this.socket = socket;
          const shaper = new Shaper(this.shape, socket, clock, t, { flush: () => this.flush() });
          shaper.inner = {
            write: (data) => {
              const n = socket.write(data);
              if (n > 0) [this.pieces, this.echoed] = [this.pieces + 1, this.echoed + n];
              return n;
            },
          };
          this.shaper = shaper;
        },
        data: (socket, chunk: Buffer) => {
          if (socket !== this.socket || this.shaper === undefined) return;
          if (this.receivedBytes < MAX_KEPT) this.received.push(chunk);
          this.receivedBytes += chunk.length;
          if (!this.outbox.send(this.shaper, chunk) && this.outbox.bytes >= MAX_HELD)
            socket.pause();
        },
        drain: () => this.flush(),
        end: (socket) => {
          if (socket !== this.socket) return;
          this.finSeen = true;
          this.endedAt = Math.min(this.endedAt, performance.now());
          if (this.outbox.empty) socket.end();
        },
        close: (socket, error) => {
          if (socket !== this.socket) return;
          this.closed = true;
          this.endedAt = Math.min(this.endedAt, performance.now());
          if (error) this.reset = true;
          this.shaper?.stop();
          this.outbox.clear();
        },
        error: (socket) => {
          if (socket === this.socket) this.reset = true;
        },
      },
    });
  }

  get port(): number {
    return this.listener.port;
  }

  /** The client connected to us at least once. */
  get connected(): boolean {
    return this.socket !== undefined;
  }

  /** Every byte received so far has been echoed. */
  get idle(): boolean {
    return this.outbox.empty;
  }

  bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  stop(): void {
    this.listener.stop(true);
  }

  private flush(): void {
    const socket = this.socket;
    if (socket === undefined || this.shaper === undefined || this.closed) return;
    if (!this.outbox.flush(this.shaper)) return;
    if (this.finSeen) socket.end();
    else socket.resume();
  }
}

/**
 * What the client starts and leaves behind (a daemon, one that moved to a session of its own
 * with setsid) becomes this process's child when its parent dies, not init's (Linux's child
 * subreaper), so that `endOrphans` finds it.
 */
function adoptOrphans(): void {
  try {
    const libc = dlopen("libc.so.6", {
      prctl: { args: [FFIType.i32, FFIType.u64], returns: FFIType.i32 },
    });
    libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1);
  } catch {
    // Not Linux: the process group is all there is to end.
  }
}
const PR_SET_CHILD_SUBREAPER = 36;

/** Ends every child of this process left running (the client's orphans, adopted above). */
async function endOrphans(): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const orphans = childrenOf(process.pid);
    if (orphans.length === 0) return;
    for (const pid of orphans) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await Bun.sleep(20); // their own children come to us next
  }
}

function childrenOf(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  return entries.flatMap((d) => {
    try {
      // After the command's closing parenthesis: state, then the parent's pid.
      const [state, ppid] = readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(ppid) === parent && state !== "Z" ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/** The client's process: its group killed on the way out, whatever it started. */
class ClientProcess {
  readonly proc;
  /** Its stdout so far, decoded as it comes (a character cut between reads is kept whole). */
  private outText = "";
  private outBytes = 0;
  private readonly decoder = new TextDecoder();
  private errTail = "";
  killed = false;
  killedAt = Infinity;
  readonly done: Promise<void>;

  constructor(command: string, port: number) {
    adoptOrphans();
    this.proc = Bun.spawn(["sh", "-c", command.replaceAll("{port}", String(port))], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ECHO_PORT: String(port) },
      detached: true, // a process group of its own: one kill ends all it started
    });
    this.done = Promise.all([
      this.pump(this.proc.stdout, (chunk) => {
        if (this.outBytes < MAX_KEPT) this.outText += this.decoder.decode(chunk, { stream: true });
        this.outBytes += chunk.length;
      }),
      this.pump(this.proc.stderr, (chunk) => {
        this.errTail = (this.errTail + Buffer.from(chunk).toString("utf8")).slice(-2000);
      }),
    ]).then(() => undefined);
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  get output(): string {
    return this.outText;
  }

  /** Its last words on stderr (a Python traceback's last line, say). */
  get lastError(): string {
    return this.errTail.trim().split("\n").at(-1) ?? "";
  }

  type(text: string): void {
    try {
      this.proc.stdin.write(text);
      this.proc.stdin.flush();
    } catch {
      // It exited: what it did is graded from what it sent and printed.
    }
  }

  endInput(): void {
    try {
      this.proc.stdin.end();
    } catch {
      // Already gone.
    }
  }

  kill(): void {
    if (this.exited) return;
    this.killed = true;
    this.killedAt = performance.now();
    try {
      process.kill(-this.proc.pid, "SIGKILL");
    } catch {
      this.proc.kill("SIGKILL");
    }
  }

  private async pump(stream: ReadableStream<Uint8Array>, take: (chunk: Uint8Array) => void) {
    try {
      for await (const chunk of stream) take(chunk);
    } catch {
      // The pipe broke with the process: what came is kept.
    }
  }
}

/** How the session went, for the grading below. */
interface Session {
  /** How many typed lines the client sent in time (all of them: TYPED.length). */
  linesSent: number;
  /** The line each echo was sent for, and in how many pieces. */
  piecesOf: number[];
  exitedOnFim: boolean;
  exitedOnEof: boolean;
  /** A line the client printed while its echo was still coming back: what it typed, not the echo. */
  printedEarly?: string;
}

export async function probeClient(
  t: Messages,
  command: string,
  timeoutMs: number,
  /** Told where the probe's server listens, before the client starts. */
  listening: (address: string) => void = () => {},
): Promise<{ results: ClientCheckResult[]; port: number }> {
  const started = performance.now();
  const server = new ShapedEcho(t);
  listening(`127.0.0.1:${server.port}`);
  const client = new ClientProcess(command, server.port);
  const session: Session = { linesSent: 0, piecesOf: [], exitedOnFim: false, exitedOnEof: false };
  try {
    await converse(server, client, session, timeoutMs);
  } finally {
    client.kill();
    client.endInput();
    await client.proc.exited;
    await endOrphans();
    // A grandchild that left the group may still hold the pipes: not waited for long.
    await Promise.race([client.done, Bun.sleep(500)]);
    // The client's FIN or reset, if it is on its way.
    await until(() => server.closed, 200);
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
    Object.assign(server.shape, line.length > 1024 ? BIG_SHAPE : SHORT_SHAPE);
    const [before, pieces] = [server.receivedBytes, server.pieces];
    const size = bytesOf(line).length;
    const printedAt = client.output.length;
    client.type(line + "\n");
    if (size === 0)
      await until(() => server.receivedBytes > before || client.exited, EMPTY_LINE_MS);
    else {
      const waitMs = timeoutMs + (session.linesSent === 0 ? STARTUP_MS : 0);
      if (!(await until(() => server.receivedBytes >= before + size, waitMs))) return;
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
  client.type(STOP_WORD + "\n");
  session.exitedOnFim = await until(() => client.exited, timeoutMs);
  if (session.exitedOnFim) return;
  client.endInput();
  session.exitedOnEof = await until(() => client.exited, Math.min(timeoutMs, 2000));
}

// ---- grading -------------------------------------------------------------------------------------

function grade(
  t: Messages,
  server: ShapedEcho,
  client: ClientProcess,
  session: Session,
  started: number,
): ClientCheckResult[] {
  const w = t.probeClient;
  const ms = performance.now() - started;
  const result = (
    id: ClientCheckId,
    sent: string,
    got: string,
    failure?: { code: Cause | "notRun"; args?: (string | number)[] },
  ): ClientCheckResult => {
    const base = { id, name: w.check[id], sent, got, ms };
    if (!failure) return { ...base, passed: true };
    if (failure.code === "notRun")
      return { ...base, passed: false, code: "notRun", cause: String(failure.args?.[0] ?? "") };
    const cause = (w.cause[failure.code] as (...a: (string | number)[]) => string)(
      ...(failure.args ?? []),
    );
    return { ...base, passed: false, code: failure.code, cause, advice: w.advice[failure.code] };
  };
  const sentLines = TYPED.slice(0, session.linesSent);
  const output = client.output;
  const received = server.bytes();
  const allSent = session.linesSent === TYPED.length;
  const stuck = !allSent;
  const stuckAfter = TYPED[session.linesSent - 1];

  // 1. Every echo printed once and whole, in order.
  const typedText = w.typedLines(sentLines.length);
  const echoes = (() => {
    const shown = output.length === 0 ? w.nothing : quote(output);
    const printed = sentLines.filter((line) => line !== "");
    // A connection a line: the lab's server in mode once would serve only the first.
    if (server.otherConnections > 0)
      return result("echoes", typedText, shown, { code: "reconnects" });
    if (printed.length === 0) return result("echoes", typedText, shown, notRunFor(t, w, stuck));
    if (output.trim() === "") return result("echoes", typedText, shown, { code: "nothingPrinted" });
    if (session.printedEarly !== undefined)
      return result("echoes", typedText, shown, {
        code: "printedTyped",
        args: [quote(session.printedEarly)],
      });
    let at = 0;
    for (const line of printed) {
      const found = output.indexOf(line, at);
      if (found < 0) {
        const pieces = session.piecesOf[TYPED.indexOf(line)] ?? 0;
        if (line === BIG) return result("echoes", typedText, shown, { code: "bigCut" });
        return result("echoes", typedText, shown, {
          code: "firstRecv",
          args: [quote(line), pieces],
        });
      }
      at = found + line.length;
      if (output.indexOf(line, at) >= 0)
        return result("echoes", typedText, shown, { code: "twice", args: [quote(line)] });
    }
    return result("echoes", typedText, w.allWhole);
  })();

  // 2. It sends what was typed and nothing else (a newline after each line, or none).
  const typed = (() => {
    if (session.linesSent === 0 && received.length === 0)
      return result("typed", typedText, w.nothing, notRunFor(t, w, true));
    let at = 0;
    for (const line of sentLines) {
      const want = Buffer.from(line, "utf8");
      const came = received.subarray(at, at + want.length);
      if (!came.equals(want))
        return result("typed", typedText, quote(received.subarray(at, at + 40)), {
          code: "extra",
          args: [quote(received.subarray(at, at + 40)), quote(want.subarray(0, 40))],
        });
      at += want.length;
      if (received[at] === 0x0a) at++;
    }
    const rest = received.subarray(at);
    const got = quote(received.subarray(Math.max(0, received.length - 40)));
    if (rest.length === 0) return result("typed", typedText, w.exactly);
    if (rest.subarray(0, 3).toString() === STOP_WORD)
      return result("typed", typedText, got, { code: "sentFim" });
    return result("typed", typedText, got, {
      code: "extra",
      args: [quote(rest.subarray(0, 40)), w.nothing],
    });
  })();

  // 3. It kept up with a slow server: every line sent within the time limit.
  const slowServer = allSent
    ? result("slowServer", w.slowEcho, w.allSent(TYPED.length))
    : result(
        "slowServer",
        w.slowEcho,
        w.sentOf(session.linesSent, TYPED.length),
        // Never connected comes first: a client with the port written in exits on its refusal.
        !server.connected
          ? { code: "neverConnected", args: [`127.0.0.1:${server.port}`] }
          : !client.killed
            ? { code: "exitedEarly", args: [client.proc.exitCode ?? -1, client.lastError] }
            : stuckAfter === ""
              ? { code: "emptyLine" }
              : { code: "stuck", args: [quote(TYPED[session.linesSent] ?? "")] },
      );

  const closedByItself = server.endedAt < client.killedAt;
  // 4. `fim` ends it, not sent.
  const fim = !allSent
    ? result("fim", STOP_WORD, w.notTyped, notRunFor(t, w, true))
    : session.exitedOnFim
      ? result("fim", STOP_WORD, w.exitedOnFim)
      : session.exitedOnEof
        ? result("fim", STOP_WORD, w.exitedOnEof, { code: "onlyEof" })
        : result("fim", STOP_WORD, w.stillRunning, {
            code: closedByItself ? "neverExits" : "neverCloses",
          });

  // 5. The connection closed with a FIN (not a reset, not left open), before any kill: the
  // kernel closes a killed process's sockets, and that FIN is not the client's doing.
  const closes = !server.connected
    ? result("closes", w.afterFim, w.nothing, notRunFor(t, w, true))
    : !closedByItself
      ? result("closes", w.afterFim, w.noFin, { code: "noFin" })
      : server.finSeen
        ? result("closes", w.afterFim, w.finSeen)
        : server.reset
          ? result("closes", w.afterFim, w.resetSeen, { code: "reset" })
          : result("closes", w.afterFim, w.noFin, { code: "noFin" });

  // 6. Exit status 0, by itself.
  const code = client.proc.exitCode;
  const exit = client.killed
    ? result("exit", w.afterFim, w.killed, { code: "killed" })
    : code === 0
      ? result("exit", w.afterFim, w.status("0"))
      : result("exit", w.afterFim, w.status(String(code ?? client.proc.signalCode)), {
          code: "exitCode",
          args: [String(code ?? client.proc.signalCode), client.lastError],
        });

  return [echoes, typed, slowServer, fim, closes, exit];
}

function notRunFor(_t: Messages, w: Messages["probeClient"], stuck: boolean) {
  return { code: "notRun" as const, args: [stuck ? w.notAllSent : w.nothing] };
}

/** Bytes as the server's log shows them: quoted, escaped, cut after a few dozen. */
const quote = (text: string | Uint8Array) =>
  preview(typeof text === "string" ? bytesOf(text) : text);
