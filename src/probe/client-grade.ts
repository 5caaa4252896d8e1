/**
 * probe --client's script (the lines it types) and its grading: six checks read from what the
 * client sent, printed and how it ended. A crash is named once, at the first check it spoils.
 */
import type { Messages } from "../messages/index.ts";
import { preview } from "../common/text.ts";
import { type ClientProcess, END_ORPHANS_MS } from "./client-process.ts";
import { MAX_LINKS, type ShapedEcho } from "./shaped-echo.ts";

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

/**
 * The bytes a typed line may go as: UTF-8, as typed; or what a client that gets the encoding
 * wrong sends: Latin-1 (cp1252, Windows' default, is the same for these letters), or UTF-8 of the
 * line decomposed (NFD: ç as c and a combining cedilla), which looks the same on a screen.
 */
export function encodings(line: string): { as: "utf8" | "latin1" | "nfd"; bytes: Buffer }[] {
  const forms: ReturnType<typeof encodings> = [{ as: "utf8", bytes: Buffer.from(line, "utf8") }];
  const codes = [...line].map((c) => c.codePointAt(0)!);
  if (codes.some((c) => c > 0x7f) && codes.every((c) => c <= 0xff))
    forms.push({ as: "latin1", bytes: Buffer.from(line, "latin1") });
  if (line.normalize("NFD") !== line)
    forms.push({ as: "nfd", bytes: Buffer.from(line.normalize("NFD"), "utf8") });
  return forms;
}

/** The first letter NFD splits, as said to a student: `ç (U+00E7)` and `c + U+0327`. */
function decomposed(line: string): [string, string] {
  const code = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  const letter = [...line].find((c) => c.normalize("NFD") !== c) ?? " ";
  const [base = "", ...marks] = [...letter.normalize("NFD")];
  return [`${letter} (${code(letter)})`, [base, ...marks.map(code)].join(" + ")];
}

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
  /** What it started and the probe could not end in time: PIDs still running. */
  leftRunning?: number[];
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
  /**
   * It left so once the probe's server had reset its connections beyond MAX_LINKS: the reset was
   * the probe's, so that is not judged as a crash.
   */
  private readonly endedOnOurReset: string | undefined;
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
    const ended = !client.killed && client.exited && client.proc.exitCode !== 0;
    this.endedOnOurReset =
      ended && !session.fimTyped && server.refused > 0
        ? w.endedOnOurReset(this.status, MAX_LINKS)
        : undefined;
    this.crashed = ended && !session.fimTyped && this.endedOnOurReset === undefined;
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
    if (server.connections > 1)
      return result({ code: "reconnects", args: [server.connections, server.links.length] });
    if (printed.length === 0) return result(this.notRunFor(!this.allSent));
    if (session.waitsForEnd !== undefined)
      return result({ code: "waitsForEnd", args: [quote(session.waitsForEnd)] });
    if (session.printedEarly !== undefined)
      return result({ code: "printedTyped", args: [quote(session.printedEarly)] });
    // An echo printed decomposed (NFD) looks the same: the next check says how it was sent.
    const text = output.normalize("NFC");
    let at = 0;
    for (const line of printed) {
      const found = text.indexOf(line, at);
      if (found < 0) return this.missing(line, line === printed.at(-1), shown);
      at = found + line.length;
      if (text.indexOf(line, at) >= 0) return result({ code: "twice", args: [quote(line)] });
    }
    return this.result("echoes", this.typedText, w.allWhole);
  }

  /** A line whose echo was never printed: why, as best the probe can tell. */
  private missing(line: string, last: boolean, shown: string): ClientCheckResult {
    const result = (failure?: Failure) => this.result("echoes", this.typedText, shown, failure);
    // The echo in flight when it crashed: the crash, not the reading, is what to fix first.
    if (this.crashed && last)
      return this.crash("echoes", this.typedText, shown, this.w.whileEcho(quote(line)));
    if (this.output.trim() === "")
      return result({ code: "nothingPrinted", args: [this.echoCame()] });
    // Where the probe stopped keeping its output, it cannot tell what came after.
    if (this.client.outputCut)
      return result({ code: "notRun", args: [this.w.outputCut(this.client.printed, quote(line))] });
    const pieces = this.session.piecesOf[TYPED.indexOf(line)] ?? 0;
    if (line === BIG) return result({ code: "bigCut" });
    return result({ code: "firstRecv", args: [quote(line), pieces] });
  }

  /** 2. It sends what was typed and nothing else (a newline after each line, or none). */
  typed(): ClientCheckResult {
    const { got, failure } = this.sent;
    return this.result("typed", this.typedText, got, failure);
  }

  /** What it sent, against what was typed: for the check above, and to say what came back. */
  private get sent(): { got: string; failure?: Failure } {
    return (this.sentVerdict ??= this.compareSent());
  }
  private sentVerdict: { got: string; failure?: Failure } | undefined;

  private compareSent(): { got: string; failure?: Failure } {
    const { w, session } = this;
    const received = this.server.bytes();
    const result = (got: string, failure?: Failure) => ({ got, failure });
    if (session.linesSent === 0 && received.length === 0)
      return result(w.nothing, this.notRunFor(true));
    let at = 0;
    for (const line of this.sentLines) {
      const came = received.subarray(at);
      const form = encodings(line).find((f) => came.subarray(0, f.bytes.length).equals(f.bytes));
      if (form === undefined)
        return result(quote(came), { code: "extra", args: [quote(came), quote(line)] });
      // The right letters in the wrong bytes: the encoding is what to fix, and named.
      if (form.as === "latin1")
        return result(quote(came), { code: "latin1", args: [quote(line), quote(form.bytes)] });
      if (form.as === "nfd")
        return result(quote(came), { code: "nfd", args: [quote(line), ...decomposed(line)] });
      at += form.bytes.length;
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

  /**
   * With nothing printed, what came back, as the probe's server knows it: every echo, or not
   * the lines typed, or echo it never read.
   */
  private echoCame(): string {
    const { w, server } = this;
    const code = this.sent.failure?.code;
    if (code !== undefined && code !== "sentFim" && code !== "latin1" && code !== "nfd")
      return w.sentOther;
    if (server.unechoed > 0) return w.echoUnread(server.unechoed);
    return w.everyEchoBack;
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
    if (this.endedOnOurReset) return result({ code: "notRun", args: [this.endedOnOurReset] });
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
        : this.endedOnOurReset !== undefined
          ? this.endedOnOurReset
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
      const why = this.crashed
        ? w.crashedEarly(this.status)
        : (this.endedOnOurReset ?? w.fimNeverTyped);
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
    // What it started and the probe could not end: said, never "stopped, with all it started".
    const left = this.session.leftRunning ?? [];
    if (left.length > 0)
      return this.result("exit", before, w.leftRunning(left.length), {
        code: "leftRunning",
        args: [left.length, left.slice(0, 5).join(", "), END_ORPHANS_MS / 1000],
      });
    if (this.endedOnOurReset)
      return this.result("exit", before, w.status(status), {
        code: "notRun",
        args: [this.endedOnOurReset],
      });
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
