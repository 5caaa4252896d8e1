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

/** One connection the client opened, judged by its own events. */
class Link {
  readonly outbox = new Outbox();
  finSeen = false;
  /** When its FIN or reset came: one that came after the probe killed the client is not its own. */
  endedAt = Infinity;
  reset = false;
  closed = false;
  /** The probe's server closed its side (to see whether the client waits for that). */
  finished = false;
  constructor(
    readonly socket: Socket<Conn>,
    readonly shaper: Shaper,
  ) {}
}

/** At most this many connections are served; more are closed at once (and counted). */
const MAX_LINKS = 16;

/**
 * The probe's own echo server: it serves every connection the client opens (each shaped, each
 * judged by its own events), and keeps everything it sends, in the order it came.
 */
class ShapedEcho {
  readonly shape: Shaping = { ...SHORT_SHAPE };
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  /** Pieces written, and of how many bytes in all. */
  pieces = 0;
  echoed = 0;
  readonly links: Link[] = [];
  /** Connections beyond MAX_LINKS, closed at once. */
  refused = 0;
  private readonly listener;

  constructor(t: Messages) {
    const clock = { now: performance.now() };
    const linkOf = (socket: Socket<Conn>) => this.links.find((l) => l.socket === socket);
    this.listener = Bun.listen<Conn>({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: {
        binaryType: "buffer",
        open: (socket) => {
          if (this.links.length >= MAX_LINKS) {
            this.refused++;
            return void socket.end();
          }
          socket.data = newConn(this.links.length + 1, performance.now());
          const shaper: Shaper = new Shaper(this.shape, socket, clock, t, {
            flush: () => this.flush(link),
          });
          const link = new Link(socket, shaper);
          shaper.inner = {
            write: (data) => {
              const n = socket.write(data);
              if (n > 0) [this.pieces, this.echoed] = [this.pieces + 1, this.echoed + n];
              return n;
            },
          };
          this.links.push(link);
        },
        data: (socket, chunk: Buffer) => {
          const link = linkOf(socket);
          // After our FIN the conversation is over: what comes is not graded, nor echoed.
          if (link === undefined || link.finished) return;
          if (this.receivedBytes < MAX_KEPT) this.received.push(chunk);
          this.receivedBytes += chunk.length;
          if (!link.outbox.send(link.shaper, chunk) && link.outbox.bytes >= MAX_HELD)
            socket.pause();
        },
        drain: (socket) => {
          const link = linkOf(socket);
          if (link) this.flush(link);
        },
        end: (socket) => {
          const link = linkOf(socket);
          if (link === undefined) return;
          link.finSeen = true;
          link.endedAt = Math.min(link.endedAt, performance.now());
          if (link.outbox.empty) socket.end();
        },
        close: (socket, error) => {
          const link = linkOf(socket);
          if (link === undefined) return;
          link.closed = true;
          link.endedAt = Math.min(link.endedAt, performance.now());
          if (error) link.reset = true;
          link.shaper.stop();
          link.outbox.clear();
        },
        error: (socket) => {
          const link = linkOf(socket);
          if (link) link.reset = true;
        },
      },
    });
  }

  get port(): number {
    return this.listener.port;
  }

  /** The client connected to us at least once. */
  get connected(): boolean {
    return this.links.length > 0;
  }

  /** How many connections it opened. */
  get connections(): number {
    return this.links.length + this.refused;
  }

  /** Every connection has ended (or none was opened). */
  get allClosed(): boolean {
    return this.links.every((l) => l.closed);
  }

  /** Every byte received so far has been echoed. */
  get idle(): boolean {
    return this.links.every((l) => l.outbox.empty);
  }

  bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Closes our side of every connection (a FIN), still reading what the client sends. */
  finish(): void {
    for (const link of this.links) {
      if (link.closed) continue;
      link.finished = true;
      link.shaper.stop();
      link.outbox.clear();
      link.socket.shutdown();
    }
  }

  stop(): void {
    this.listener.stop(true);
  }

  private flush(link: Link): void {
    if (link.closed) return;
    if (!link.outbox.flush(link.shaper)) return;
    if (link.finSeen) link.socket.end();
    else link.socket.resume();
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

  /**
   * Its last words on stderr: a Python traceback's last line, say. Node's, Bun's and Java's put
   * the stack (and the runtime's version) after the error: those lines are not its words.
   */
  get lastError(): string {
    const words = this.errTail
      .split("\n")
      .map((line) => line.trimEnd())
      .filter((line) => line !== "" && !/^\s+at\s|^(Node\.js|Bun) v\d/.test(line));
    return words.at(-1)?.trim() ?? "";
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
  /** How many lines were typed to it while it ran. */
  linesTyped: number;
  /** How many typed lines the client sent in time (all of them: TYPED.length). */
  linesSent: number;
  /** `fim` was typed (every line was sent, and the client still ran). */
  fimTyped: boolean;
  /** The line each echo was sent for, and in how many pieces. */
  piecesOf: number[];
  exitedOnFim: boolean;
  exitedOnEof: boolean;
  /** A line the client printed while its echo was still coming back: what it typed, not the echo. */
  printedEarly?: string;
  /** A line whose echo it printed only once the probe's server closed: it reads until EOF. */
  waitsForEnd?: string;
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
    await endOrphans();
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
    const size = bytesOf(line).length;
    const printedAt = client.output.length;
    client.type(line + "\n");
    session.linesTyped++;
    if (size === 0) {
      await until(() => server.receivedBytes > before || client.exited, EMPTY_LINE_MS);
      // It left on the empty line (a crash on it, say): that line was not sent.
      if (client.exited && server.receivedBytes === before) return;
    } else {
      const waitMs = timeoutMs + (session.linesSent === 0 ? STARTUP_MS : 0);
      const sent = () => server.receivedBytes >= before + size;
      await until(() => sent() || client.exited, waitMs);
      if (!sent()) return void (await waitingForEnd(server, client, session));
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
    failure?: { code: Cause | "notRun"; args?: (string | number)[]; advice?: string },
  ): ClientCheckResult => {
    const base = { id, name: w.check[id], sent, got, ms };
    if (!failure) return { ...base, passed: true };
    if (failure.code === "notRun")
      return { ...base, passed: false, code: "notRun", cause: String(failure.args?.[0] ?? "") };
    const cause = (w.cause[failure.code] as (...a: (string | number)[]) => string)(
      ...(failure.args ?? []),
    );
    const advice = failure.advice ?? w.advice[failure.code];
    return { ...base, passed: false, code: failure.code, cause, advice };
  };
  const sentLines = TYPED.slice(0, session.linesSent);
  const output = client.output;
  const received = server.bytes();
  const allSent = session.linesSent === TYPED.length;
  const stuck = !allSent;
  const stuckAfter = TYPED[session.linesSent - 1];
  const lastTyped = TYPED[session.linesTyped - 1];

  // A crash: it left by itself, with another status than 0 (an uncaught exception, a signal),
  // before fim. Named once, at the first check it spoils; the checks it left undecided say so.
  const status = String(client.proc.exitCode ?? client.proc.signalCode);
  const crashed =
    !client.killed && client.exited && client.proc.exitCode !== 0 && !session.fimTyped;
  const decoding = /UnicodeDecodeError|can't decode|MalformedInput|invalid utf-?8/i.test(
    client.lastError,
  );
  let crashNamed = false;
  const crash = (id: ClientCheckId, sent: string, got: string, when: string) => {
    if (crashNamed)
      return result(id, sent, got, { code: "notRun", args: [w.crashedEarly(status)] });
    crashNamed = true;
    const code = decoding ? "crashedDecoding" : "crashed";
    return result(id, sent, got, { code, args: [status, when, client.lastError] });
  };
  const whenCrashed = lastTyped === undefined ? w.beforeFirstLine : w.afterLine(quote(lastTyped));

  // 1. Every echo printed once and whole, in order.
  const typedText = w.typedLines(session.linesTyped);
  // It ended (by itself, with any status) without ever connecting: a file not found, a refused
  // port. That is the one verdict, at the first check; the others were never reached.
  if (!server.connected && client.exited && !client.killed) {
    const skipped = (id: ClientCheckId, sent: string, got: string) =>
      result(id, sent, got, { code: "notRun", args: [w.endedUnconnectedEarlier] });
    const before = w.noFim(session.linesTyped, TYPED.length);
    return [
      result("echoes", typedText, w.nothing, {
        code: "endedUnconnected",
        args: [status, client.lastError],
        advice: adviceUnconnected(w, client.lastError),
      }),
      skipped("typed", typedText, w.nothing),
      skipped("slowServer", w.slowEcho, w.sentOf(0, TYPED.length)),
      skipped("fim", STOP_WORD, w.notTyped),
      skipped("closes", before, w.nothing),
      skipped("exit", before, w.status(status)),
    ];
  }

  const echoes = (() => {
    const shown = output.length === 0 ? w.nothing : quote(output);
    const printed = sentLines.filter((line) => line !== "");
    // A connection a line: the lab's server in mode once would serve only the first.
    if (server.connections > 1)
      return result("echoes", typedText, shown, { code: "reconnects", args: [server.connections] });
    if (printed.length === 0) return result("echoes", typedText, shown, notRunFor(t, w, stuck));
    if (session.waitsForEnd !== undefined)
      return result("echoes", typedText, shown, {
        code: "waitsForEnd",
        args: [quote(session.waitsForEnd)],
      });
    if (session.printedEarly !== undefined)
      return result("echoes", typedText, shown, {
        code: "printedTyped",
        args: [quote(session.printedEarly)],
      });
    let at = 0;
    for (const line of printed) {
      const found = output.indexOf(line, at);
      if (found < 0) {
        // The echo in flight when it crashed: the crash, not the reading, is what to fix first.
        if (crashed && line === printed.at(-1))
          return crash("echoes", typedText, shown, w.whileEcho(quote(line)));
        if (output.trim() === "")
          return result("echoes", typedText, shown, { code: "nothingPrinted" });
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
        return result("typed", typedText, quote(received.subarray(at)), {
          code: "extra",
          args: [quote(received.subarray(at)), quote(want)],
        });
      at += want.length;
      if (received[at] === 0x0a) at++;
    }
    const rest = received.subarray(at);
    // The last bytes, from a character's start: a cut one would read as corrupted accents.
    let from = Math.max(0, received.length - 40);
    while (from < received.length && (received[from]! & 0xc0) === 0x80) from++;
    const got = quote(received.subarray(from));
    if (rest.length === 0) return result("typed", typedText, w.exactly);
    if (session.fimTyped && rest.subarray(0, 3).toString() === STOP_WORD)
      return result("typed", typedText, got, { code: "sentFim" });
    return result("typed", typedText, got, {
      code: "extra",
      args: [quote(rest), w.nothing],
    });
  })();

  // 3. It kept up with a slow server: every line sent within the time limit.
  const sentOf = w.sentOf(session.linesSent, TYPED.length);
  const slowServer = allSent
    ? result("slowServer", w.slowEcho, w.allSent(TYPED.length))
    : // It ran on, never connecting: it was not given the port, or ignored it.
      !server.connected
      ? result("slowServer", w.slowEcho, sentOf, {
          code: "neverConnected",
          args: [`127.0.0.1:${server.port}`],
        })
      : crashed
        ? crash("slowServer", w.slowEcho, sentOf, whenCrashed)
        : !client.killed
          ? result("slowServer", w.slowEcho, sentOf, {
              code: "exitedEarly",
              args: [client.proc.exitCode ?? -1, client.lastError],
            })
          : session.waitsForEnd !== undefined
            ? result("slowServer", w.slowEcho, sentOf, { code: "notRun", args: [w.waitedForEnd] })
            : stuckAfter === ""
              ? result("slowServer", w.slowEcho, sentOf, { code: "emptyLine" })
              : result("slowServer", w.slowEcho, sentOf, {
                  code: "stuck",
                  args: [quote(TYPED[session.linesSent] ?? "")],
                });

  // Each connection judged by its own end: a FIN or reset of its own, before any kill (the
  // kernel closes a killed process's sockets, and that FIN is not the client's doing).
  const own = server.links.map((l) => l.endedAt < client.killedAt);
  const closedByItself = own.every(Boolean);
  // What came before the last checks: fim, or only some lines.
  const before = session.fimTyped ? w.afterFim : w.noFim(session.linesTyped, TYPED.length);

  // 4. `fim` ends it, not sent.
  const fim = !session.fimTyped
    ? result("fim", STOP_WORD, w.notTyped, {
        code: "notRun",
        args: [crashed ? w.crashedEarly(status) : allSent ? w.exitedBeforeFim : w.notAllSent],
      })
    : session.exitedOnFim
      ? result("fim", STOP_WORD, w.exitedOnFim)
      : session.exitedOnEof
        ? result("fim", STOP_WORD, w.exitedOnEof, { code: "onlyEof" })
        : result("fim", STOP_WORD, w.stillRunning, {
            code: closedByItself ? "neverExits" : "neverCloses",
          });

  // 5. The connection closed with a FIN (not a reset, not left open), after fim; with several
  // connections, each one.
  const n = server.links.length;
  const which = (i: number) => (n === 1 ? "" : w.connectionOf(i + 1, n));
  const firstReset = server.links.findIndex((l, i) => own[i] && l.reset && !l.finSeen);
  const firstOpen = server.links.findIndex((l, i) => !own[i] || !l.finSeen);
  const closes = !server.connected
    ? result("closes", before, w.nothing, notRunFor(t, w, true))
    : !session.fimTyped
      ? result("closes", before, w.notTyped, {
          code: "notRun",
          args: [crashed ? w.crashedEarly(status) : w.fimNeverTyped],
        })
      : firstOpen < 0
        ? result("closes", before, n === 1 ? w.finSeen : w.finOnEach(n))
        : firstReset >= 0
          ? result("closes", before, w.resetSeen + which(firstReset), { code: "reset" })
          : result("closes", before, w.noFin + which(firstOpen), { code: "noFin" });

  // 6. Exit status 0, by itself.
  const code = client.proc.exitCode;
  const exit = client.killed
    ? result("exit", before, w.killed, { code: "killed" })
    : code === 0
      ? result("exit", before, w.status("0"))
      : crashed
        ? crash("exit", before, w.status(status), whenCrashed)
        : result("exit", before, w.status(status), {
            code: "exitCode",
            args: [status, client.lastError],
          });

  return [echoes, typed, slowServer, fim, closes, exit];
}

/**
 * What to do about a client that ended before connecting, read from its last stderr line: a file
 * not found is looked up from where the probe runs (a student names it relative to their own
 * folder); a refused connection went to a port of its own, not the probe's.
 */
function adviceUnconnected(w: Messages["probeClient"], last: string): string {
  if (
    /No such file|can't open|ENOENT|Cannot find module|Module not found|Could not find or load|\/\S*: not found/i.test(
      last,
    )
  )
    return w.fileNotFound(process.cwd());
  if (/refused/i.test(last)) return w.advice.neverConnected;
  return w.advice.endedUnconnected;
}

function notRunFor(_t: Messages, w: Messages["probeClient"], stuck: boolean) {
  return { code: "notRun" as const, args: [stuck ? w.notAllSent : w.nothing] };
}

/** Bytes as the server's log shows them: quoted, escaped, cut after a few dozen. */
const quote = (text: string | Uint8Array) =>
  preview(typeof text === "string" ? bytesOf(text) : text);
