/**
 * probe --client's script (the lines it types) and its grading: six checks read from what the
 * client sent, printed and how it ended. A crash is named once, at the first check it spoils.
 */
import type { Messages } from "../messages/index.ts";
import { preview } from "../common/text.ts";
import type { ClientProcess } from "./client-process.ts";
import type { ShapedEcho } from "./shaped-echo.ts";

type ClientCheckId = "echoes" | "typed" | "slowServer" | "fim" | "closes" | "exit";
type Cause = keyof Messages["probeClient"]["cause"];
type Failure = { code: Cause | "notRun"; args?: (string | number)[]; advice?: string };

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
export const BIG =
  "10 KB line: " + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(300).slice(0, 10240 - 12);
export const TYPED = ["hello, echo", "ação, coração e pão de açúcar", "", BIG] as const;
export const STOP_WORD = "fim";

/** How the session went, for the grading below. */
export interface Session {
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

export function grade(
  t: Messages,
  server: ShapedEcho,
  client: ClientProcess,
  session: Session,
  started: number,
): ClientCheckResult[] {
  const g = new Grading(t, server, client, session, performance.now() - started);
  // It ended (by itself, with any status) without ever connecting: a file not found, a refused
  // port. That is the one verdict, at the first check; the others were never reached.
  if (!server.connected && client.exited && !client.killed) return g.endedUnconnected();
  // In this order: a crash is named at the first check it spoils.
  return [g.echoes(), g.typed(), g.slowServer(), g.fim(), g.closes(), g.exit()];
}

/** What every check reads, worked out once; one method a check. */
class Grading {
  private readonly w: Messages["probeClient"];
  private readonly output: string;
  private readonly allSent: boolean;
  /** The typed lines the client sent, and as one text for the report. */
  private readonly sentLines: string[];
  private readonly typedText: string;
  /** Its exit status or signal, as said. */
  private readonly status: string;
  /** It left by itself, with another status than 0 (an uncaught exception, a signal), before fim. */
  private readonly crashed: boolean;
  private readonly whenCrashed: string;
  private crashNamed = false;
  /** What came before the last checks: fim, or only some lines. */
  private readonly before: string;

  constructor(
    t: Messages,
    private readonly server: ShapedEcho,
    private readonly client: ClientProcess,
    private readonly session: Session,
    private readonly ms: number,
  ) {
    const w = (this.w = t.probeClient);
    this.output = client.output;
    this.allSent = session.linesSent === TYPED.length;
    this.sentLines = TYPED.slice(0, session.linesSent);
    this.typedText = w.typedLines(session.linesTyped);
    this.status = String(client.proc.exitCode ?? client.proc.signalCode);
    this.crashed =
      !client.killed && client.exited && client.proc.exitCode !== 0 && !session.fimTyped;
    const lastTyped = TYPED[session.linesTyped - 1];
    this.whenCrashed = lastTyped === undefined ? w.beforeFirstLine : w.afterLine(quote(lastTyped));
    this.before = session.fimTyped ? w.afterFim : w.noFim(session.linesTyped, TYPED.length);
  }

  /** The one verdict for a client that ended before it ever connected; the rest were not run. */
  endedUnconnected(): ClientCheckResult[] {
    const { w, typedText, status, session } = this;
    const skipped = (id: ClientCheckId, sent: string, got: string) =>
      this.result(id, sent, got, { code: "notRun", args: [w.endedUnconnectedEarlier] });
    const before = w.noFim(session.linesTyped, TYPED.length);
    const last = this.client.lastError;
    return [
      this.result("echoes", typedText, w.nothing, {
        code: "endedUnconnected",
        args: [status, last],
        advice: adviceUnconnected(w, last),
      }),
      skipped("typed", typedText, w.nothing),
      skipped("slowServer", w.slowEcho, w.sentOf(0, TYPED.length)),
      skipped("fim", STOP_WORD, w.notTyped),
      skipped("closes", before, w.nothing),
      skipped("exit", before, w.status(status)),
    ];
  }

  /** 1. Every echo printed once and whole, in order. */
  echoes(): ClientCheckResult {
    const { w, output, session, server } = this;
    const shown = output.length === 0 ? w.nothing : quote(output);
    const result = (failure?: Failure) => this.result("echoes", this.typedText, shown, failure);
    const printed = this.sentLines.filter((line) => line !== "");
    // A connection a line: the lab's server in mode once would serve only the first.
    if (server.connections > 1) return result({ code: "reconnects", args: [server.connections] });
    if (printed.length === 0) return result(this.notRunFor(!this.allSent));
    if (session.waitsForEnd !== undefined)
      return result({ code: "waitsForEnd", args: [quote(session.waitsForEnd)] });
    if (session.printedEarly !== undefined)
      return result({ code: "printedTyped", args: [quote(session.printedEarly)] });
    let at = 0;
    for (const line of printed) {
      const found = output.indexOf(line, at);
      if (found < 0) return this.missing(line, line === printed.at(-1), shown);
      at = found + line.length;
      if (output.indexOf(line, at) >= 0) return result({ code: "twice", args: [quote(line)] });
    }
    return this.result("echoes", this.typedText, w.allWhole);
  }

  /** A line whose echo was never printed: why, as best the probe can tell. */
  private missing(line: string, last: boolean, shown: string): ClientCheckResult {
    const result = (failure?: Failure) => this.result("echoes", this.typedText, shown, failure);
    // The echo in flight when it crashed: the crash, not the reading, is what to fix first.
    if (this.crashed && last)
      return this.crash("echoes", this.typedText, shown, this.w.whileEcho(quote(line)));
    if (this.output.trim() === "") return result({ code: "nothingPrinted" });
    const pieces = this.session.piecesOf[TYPED.indexOf(line)] ?? 0;
    if (line === BIG) return result({ code: "bigCut" });
    return result({ code: "firstRecv", args: [quote(line), pieces] });
  }

  /** 2. It sends what was typed and nothing else (a newline after each line, or none). */
  typed(): ClientCheckResult {
    const { w, session } = this;
    const received = this.server.bytes();
    const result = (got: string, failure?: Failure) =>
      this.result("typed", this.typedText, got, failure);
    if (session.linesSent === 0 && received.length === 0)
      return result(w.nothing, this.notRunFor(true));
    let at = 0;
    for (const line of this.sentLines) {
      const want = Buffer.from(line, "utf8");
      const came = received.subarray(at, at + want.length);
      if (!came.equals(want))
        return result(quote(received.subarray(at)), {
          code: "extra",
          args: [quote(received.subarray(at)), quote(want)],
        });
      at += want.length;
      if (received[at] === 0x0a) at++;
    }
    const rest = received.subarray(at);
    // The last bytes, from a character's start: a cut one would read as corrupted accents.
    let from = Math.max(0, received.length - 40);
    while (from < received.length && ((received[from] ?? 0) & 0xc0) === 0x80) from++;
    // Cut at the front: said with an ellipsis, so that it does not read as all it sent.
    const got = (from > 0 ? "…" : "") + quote(received.subarray(from));
    if (rest.length === 0) return result(w.exactly);
    if (session.fimTyped && rest.subarray(0, 3).toString() === STOP_WORD)
      return result(got, { code: "sentFim" });
    return result(got, { code: "extra", args: [quote(rest), w.nothing] });
  }

  /** 3. It kept up with a slow server: every line sent within the time limit. */
  slowServer(): ClientCheckResult {
    const { w, session, server, client } = this;
    if (this.allSent) return this.result("slowServer", w.slowEcho, w.allSent(TYPED.length));
    const sentOf = w.sentOf(session.linesSent, TYPED.length);
    const result = (failure: Failure) => this.result("slowServer", w.slowEcho, sentOf, failure);
    // It ran on, never connecting: it was not given the port, or ignored it.
    if (!server.connected)
      return result({ code: "neverConnected", args: [`127.0.0.1:${server.port}`] });
    if (this.crashed) return this.crash("slowServer", w.slowEcho, sentOf, this.whenCrashed);
    if (!client.killed)
      return result({ code: "exitedEarly", args: [client.proc.exitCode ?? -1, client.lastError] });
    if (session.waitsForEnd !== undefined)
      return result({ code: "notRun", args: [w.waitedForEnd] });
    if (TYPED[session.linesSent - 1] === "") return result({ code: "emptyLine" });
    return result({ code: "stuck", args: [quote(TYPED[session.linesSent] ?? "")] });
  }

  /** 4. `fim` ends it, not sent. */
  fim(): ClientCheckResult {
    const { w, session } = this;
    if (!session.fimTyped) {
      const why = this.crashed
        ? w.crashedEarly(this.status)
        : this.allSent
          ? w.exitedBeforeFim
          : w.notAllSent;
      return this.result("fim", STOP_WORD, w.notTyped, { code: "notRun", args: [why] });
    }
    if (session.exitedOnFim) return this.result("fim", STOP_WORD, w.exitedOnFim);
    if (session.exitedOnEof)
      return this.result("fim", STOP_WORD, w.exitedOnEof, { code: "onlyEof" });
    const code = this.ownEnds().every(Boolean) ? "neverExits" : "neverCloses";
    return this.result("fim", STOP_WORD, w.stillRunning, { code });
  }

  /**
   * 5. The connection closed with a FIN (not a reset, not left open), after fim; with several
   * connections, each one.
   */
  closes(): ClientCheckResult {
    const { w, server, before } = this;
    if (!server.connected) return this.result("closes", before, w.nothing, this.notRunFor(true));
    if (!this.session.fimTyped) {
      const why = this.crashed ? w.crashedEarly(this.status) : w.fimNeverTyped;
      return this.result("closes", before, w.notTyped, { code: "notRun", args: [why] });
    }
    const own = this.ownEnds();
    const n = server.links.length;
    const which = (i: number) => (n === 1 ? "" : w.connectionOf(i + 1, n));
    const firstReset = server.links.findIndex((l, i) => own[i] && l.reset && !l.finSeen);
    const firstOpen = server.links.findIndex((l, i) => !own[i] || !l.finSeen);
    if (firstOpen < 0) return this.result("closes", before, n === 1 ? w.finSeen : w.finOnEach(n));
    if (firstReset >= 0)
      return this.result("closes", before, w.resetSeen + which(firstReset), { code: "reset" });
    return this.result("closes", before, w.noFin + which(firstOpen), { code: "noFin" });
  }

  /** 6. Exit status 0, by itself. */
  exit(): ClientCheckResult {
    const { w, client, before, status } = this;
    // Stopped before fim was typed: what to do after fim is not the point; the failures above are.
    const advice = this.session.fimTyped ? undefined : w.seeFailuresAbove;
    if (client.killed) return this.result("exit", before, w.killed, { code: "killed", advice });
    if (client.proc.exitCode === 0) return this.result("exit", before, w.status("0"));
    if (this.crashed) return this.crash("exit", before, w.status(status), this.whenCrashed);
    const failure: Failure = { code: "exitCode", args: [status, client.lastError] };
    return this.result("exit", before, w.status(status), failure);
  }

  /**
   * Each connection judged by its own end: a FIN or reset of its own, before any kill (the
   * kernel closes a killed process's sockets, and that FIN is not the client's doing).
   */
  private ownEnds(): boolean[] {
    return this.server.links.map((l) => l.endedAt < this.client.killedAt);
  }

  /** The crash, named at the first check it spoils; the checks it left undecided say so. */
  private crash(id: ClientCheckId, sent: string, got: string, when: string): ClientCheckResult {
    if (this.crashNamed)
      return this.result(id, sent, got, {
        code: "notRun",
        args: [this.w.crashedEarly(this.status)],
      });
    this.crashNamed = true;
    const decoding = /UnicodeDecodeError|can't decode|MalformedInput|invalid utf-?8/i.test(
      this.client.lastError,
    );
    const code = decoding ? "crashedDecoding" : "crashed";
    return this.result(id, sent, got, { code, args: [this.status, when, this.client.lastError] });
  }

  private notRunFor(stuck: boolean): Failure {
    return { code: "notRun", args: [stuck ? this.w.notAllSent : this.w.nothing] };
  }

  private result(
    id: ClientCheckId,
    sent: string,
    got: string,
    failure?: Failure,
  ): ClientCheckResult {
    const { w } = this;
    const base = { id, name: w.check[id], sent, got, ms: this.ms };
    if (!failure) return { ...base, passed: true };
    if (failure.code === "notRun")
      return { ...base, passed: false, code: "notRun", cause: String(failure.args?.[0] ?? "") };
    const cause = (w.cause[failure.code] as (...a: (string | number)[]) => string)(
      ...(failure.args ?? []),
    );
    const advice = failure.advice ?? w.advice[failure.code];
    return { ...base, passed: false, code: failure.code, cause, advice };
  }
}

/** Bytes as the server's log shows them: quoted, escaped, cut after a few dozen. */
export const quote = (text: string | Uint8Array) =>
  preview(typeof text === "string" ? new TextEncoder().encode(text) : text);

/**
 * What to do about a client that ended before connecting, read from its last stderr line: a file
 * not found is looked up from where the probe runs (a student names it relative to their own
 * folder); a refused connection went to a port of its own, not the probe's.
 */
function adviceUnconnected(w: Messages["probeClient"], last: string): string {
  const notFound =
    /No such file|can't open|ENOENT|Cannot find module|Module not found|Could not find or load|\/\S*: not found/i;
  if (notFound.test(last)) return w.fileNotFound(process.cwd());
  if (/refused/i.test(last)) return w.advice.neverConnected;
  return w.advice.endedUnconnected;
}
