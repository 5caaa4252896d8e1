/**
 * The checks, one function each. Each sends something real, waits (within a time limit) for what
 * comes back, and returns one result: passed or not, what was sent, what came back, and for a
 * failure the likely cause and what to do, worded from the catalogs.
 */
import type { Messages } from "../messages/index.ts";
import type { Mode } from "../cli/values.ts";
import { preview } from "../common/text.ts";
import { commonPrefix, observe, type Observation } from "./analyze.ts";
import type { Ending, ProbeConn, Target } from "./conn.ts";
import { ProbeConn as Conn } from "./conn.ts";

export type CheckId =
  | "shortLine"
  | "pieces"
  | "together"
  | "allBytes"
  | "bulk"
  | "slowRead"
  | "halfClose"
  | "closesAfter"
  | "once"
  | "sequential"
  | "concurrent";

type CauseCode = keyof Messages["probeCause"];
type Failure = { code: CauseCode; args?: (string | number)[] };

export interface CheckResult {
  id: CheckId;
  name: string;
  passed: boolean;
  sent: string;
  got: string;
  /** Stable, for graders: which mistake the probe thinks it saw. */
  code?: CauseCode;
  cause?: string;
  advice?: string;
  ms: number;
}

export interface Context {
  t: Messages;
  target: Target;
  timeoutMs: number;
  slowPauseMs: number;
  /** Figures, for information: filled in by the checks that measure them. */
  figures: { latencyMs?: number; roundTrips?: number; throughputMBs?: number };
  /** An earlier check saw the server close before its echo was out, with no FIN from us. */
  closedEarly?: boolean;
  /** A check of plain text (ASCII, valid UTF-8) was echoed whole. */
  textEchoed?: boolean;
}

const MB = 1 << 20;
const encode = (text: string) => new TextEncoder().encode(text);
const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Random bytes that do not compress or repeat, so that missing pieces can be located. */
function payload(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

/** The checks that send only valid UTF-8: a server that decodes what it gets passes them. */
const TEXT_CHECKS = new Set<CheckId>(["shortLine", "pieces", "together"]);

/** A result, worded: `cause` names the mistake (with its values), `advice` what to do. */
function result(
  ctx: Context,
  id: CheckId,
  started: number,
  sent: string,
  got: string,
  failure?: { code: CauseCode; args?: (string | number)[] },
): CheckResult {
  const { t } = ctx;
  const base = { id, name: t.probeCheck[id], sent, got, ms: performance.now() - started };
  if (!failure) {
    if (TEXT_CHECKS.has(id)) ctx.textEchoed = true;
    return { ...base, passed: true };
  }
  const cause = (t.probeCause[failure.code] as (...a: (string | number)[]) => string)(
    ...(failure.args ?? []),
  );
  return { ...base, passed: false, code: failure.code, cause, advice: t.probeAdvice[failure.code] };
}

/**
 * Mode once, a connection the server closed right after a check that passed, while the probe had
 * more to send: the mistake of a server that stops after one recv(), said on the next check.
 */
export function closedAfter(ctx: Context, id: CheckId, check: string): CheckResult {
  const now = performance.now();
  const sent = ctx.t.probeNothingSent;
  return result(ctx, id, now, sent, ctx.t.probeEof, { code: "closedAfterOne", args: [check] });
}

/** A check that could not run: the connection it needed is gone. */
export function notRun(ctx: Context, id: CheckId, reason: string): CheckResult {
  return result(ctx, id, performance.now(), "-", "-", { code: "notRun", args: [reason] });
}

const secs = (ctx: Context) => ctx.timeoutMs / 1000;

/** What came back, for the report line. */
function describeGot(ctx: Context, sent: Uint8Array, got: Uint8Array, ending: Ending): string {
  const { t } = ctx;
  const tail = ending === "complete" ? "" : t.probeEnding[ending](secs(ctx));
  if (Buffer.from(got).equals(Buffer.from(sent)))
    return sent.length <= 64 ? t.probeSame : t.probeExact(sent.length);
  if (got.length === 0) return ending === "eof" ? t.probeNothingEof : t.probeNothing(secs(ctx));
  if (sent.length <= 64 && got.length <= 64) return `${preview(got, 64)}${tail}`;
  const at = commonPrefix(sent, got);
  return t.probeOf(got.length, sent.length) + (at < got.length ? t.probeDiffersAt(at) : "") + tail;
}

/** The general reading of an observation, for checks without a more precise one. */
function generic(ctx: Context, o: Observation, sent: number, got: number): Failure | undefined {
  switch (o.kind) {
    case "exact":
      return undefined;
    case "nothing":
      if (o.ending === "eof") {
        ctx.closedEarly = true;
        return { code: "closed", args: [0, sent] };
      }
      return { code: "noEcho", args: [secs(ctx)] };
    case "upper":
      return { code: "upper" };
    case "short":
      if (o.ending === "eof") {
        ctx.closedEarly = true;
        return { code: "closed", args: [got, sent] };
      }
      return { code: "lost", args: [got, sent, secs(ctx)] };
    case "extra":
      return { code: "extra", args: [o.extra] };
    case "gaps":
      if (o.lines) return { code: "oneRecvLines", args: [o.missing] };
      if (o.pieceSize !== undefined)
        return { code: "fixedBuffer", args: [o.pieceSize, o.pieces, o.missing] };
      return { code: "sendNoLoop", args: [o.missing, o.pieces] };
    case "changed":
      return { code: "changed", args: [o.at] };
    case "tls":
      return { code: "speaksTls" };
  }
}

/** What one exchange sent and got back, and how it ended. */
interface Exchanged {
  sent: Uint8Array;
  got: Uint8Array;
  ending: Ending;
  o: Observation;
  writeFailed?: "closed" | "stalled";
}

/**
 * Sends `parts` (with `gapMs` between them), waits for as many bytes back, and compares. A reset
 * is said as such; extra bytes that come a little later are gathered before comparing.
 */
async function exchange(
  ctx: Context,
  conn: ProbeConn,
  parts: Uint8Array[],
  gapMs = 0,
): Promise<Exchanged> {
  conn.take(); // anything left from an earlier check is not this one's echo
  const sent = concat(parts);
  let writeFailed: Exchanged["writeFailed"];
  for (const [i, part] of parts.entries()) {
    if (i > 0 && gapMs > 0) await Bun.sleep(gapMs);
    const w = await conn.write(part, ctx.timeoutMs);
    if (w !== "ok") {
      writeFailed = w;
      break;
    }
  }
  let ending = await conn.until(sent.length, ctx.timeoutMs);
  let got = conn.take();
  if (!Buffer.from(got).equals(Buffer.from(sent)) && ending === "complete" && sent.length < MB) {
    // Not the same: gather what else comes, so that the report shows all of it.
    await conn.settle(50, ctx.timeoutMs);
    got = concat([got, conn.take()]);
  }
  if (ending === "timeout" && conn.eof) ending = "eof";
  return { sent, got, ending, o: observe(sent, got, ending), writeFailed };
}

function failureOf(ctx: Context, conn: ProbeConn, x: Exchanged): Failure | undefined {
  return connFailure(ctx, conn, x) ?? generic(ctx, x.o, x.sent.length, x.got.length);
}

/** Not the echo because of the connection: a reset, or a write the server never took. */
function connFailure(
  ctx: Context,
  conn: ProbeConn,
  x: Pick<Exchanged, "o" | "writeFailed">,
): Failure | undefined {
  if (x.o.kind !== "exact" && conn.reset) return { code: "reset" };
  if (x.writeFailed === "stalled" && x.o.kind !== "exact")
    return { code: "stalled", args: [secs(ctx)] };
  return undefined;
}

// ---- the checks on one connection ---------------------------------------------------------------

export async function shortLine(ctx: Context, conn: ProbeConn): Promise<CheckResult> {
  const started = performance.now();
  const x = await exchange(ctx, conn, [encode("hello, echo\n")]);
  const failure = failureOf(ctx, conn, x);
  const r = result(
    ctx,
    "shortLine",
    started,
    preview(x.sent),
    describeGot(ctx, x.sent, x.got, x.ending),
    failure,
  );
  if (r.passed) await latency(ctx, conn);
  return r;
}

/** Round trips of a short line, for information: the median, in milliseconds. */
async function latency(ctx: Context, conn: ProbeConn): Promise<void> {
  const times: number[] = [];
  const ping = encode("ping\n");
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    if ((await conn.write(ping, ctx.timeoutMs)) !== "ok") return;
    if ((await conn.until(ping.length, ctx.timeoutMs)) !== "complete") return;
    conn.take();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  ctx.figures.latencyMs = times[times.length >> 1];
  ctx.figures.roundTrips = times.length;
}

export async function pieces(ctx: Context, conn: ProbeConn): Promise<CheckResult> {
  const started = performance.now();
  const parts = ["hel", "lo wo", "rld\n"].map(encode);
  const gap = 50;
  const x = await exchange(ctx, conn, parts, gap);
  let failure = failureOf(ctx, conn, x);
  if (failure && ["changed", "extra", "lost", "noEcho"].includes(failure.code))
    failure = { code: "oneRecvPieces" };
  const sent = ctx.t.probePieces(parts.map((p) => preview(p)).join(" + "), gap);
  return result(ctx, "pieces", started, sent, describeGot(ctx, x.sent, x.got, x.ending), failure);
}

export async function together(ctx: Context, conn: ProbeConn): Promise<CheckResult> {
  const started = performance.now();
  const x = await exchange(ctx, conn, [encode("um\ndois\ntrês\n")]);
  let failure = failureOf(ctx, conn, x);
  if (failure && ["changed", "lost", "extra"].includes(failure.code))
    failure = { code: "oneRecvTogether" };
  return result(
    ctx,
    "together",
    started,
    preview(x.sent),
    describeGot(ctx, x.sent, x.got, x.ending),
    failure,
  );
}

/** Bytes 0 to 255, then sequences that are not UTF-8, then a newline. */
const ALL_BYTES = concat([
  Uint8Array.from({ length: 256 }, (_, i) => i),
  Uint8Array.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0xc0, 0xaf, 0xe2, 0x82, 0x0a]),
]);

export async function allBytes(ctx: Context, conn: ProbeConn): Promise<CheckResult> {
  const started = performance.now();
  const x = await exchange(ctx, conn, [ALL_BYTES]);
  let failure = failureOf(ctx, conn, x);
  const at = x.o.kind === "changed" ? x.o.at : x.o.kind === "short" ? x.o.got : undefined;
  // Text echoed, then not one byte of these and the connection gone: a server that decodes what
  // it receives (Python's dados.decode()) dies on the first byte that is not UTF-8. One that
  // closes after one recv() echoes that recv()'s bytes first, so it is told apart.
  const ended = x.ending === "eof" || conn.reset;
  if (x.got.length === 0 && ended && ctx.textEchoed) failure = { code: "decodeCrash" };
  else if (failure && at !== undefined && failure.code !== "closed") {
    const byte = ALL_BYTES[at - 1]; // undefined at 0: nothing came before
    const before = byte === undefined ? "" : `0x${byte.toString(16).padStart(2, "0")}`;
    failure = { code: "textBytes", args: [at, before] };
  }
  const got = describeGot(ctx, x.sent, x.got, x.ending);
  return result(ctx, "allBytes", started, ctx.t.probeAllBytes(x.sent.length), got, failure);
}

/** 10 MB written while the echo is read as fast as it comes: the throughput figure. */
export async function bulk(ctx: Context, conn: ProbeConn): Promise<CheckResult> {
  const started = performance.now();
  const x = await exchange(ctx, conn, [payload(10 * MB)]);
  if (x.o.kind === "exact") ctx.figures.throughputMBs = 10 / ((performance.now() - started) / 1000);
  return result(
    ctx,
    "bulk",
    started,
    ctx.t.probeBytes(x.sent.length),
    describeGot(ctx, x.sent, x.got, x.ending),
    failureOf(ctx, conn, x),
  );
}

/**
 * 10 MB, with the probe pausing its reading every 256 KiB: the server's send() then finds the
 * kernel's buffer full and takes only part. A server that drops the rest fails here.
 */
export async function slowRead(ctx: Context, conn: ProbeConn): Promise<CheckResult> {
  const started = performance.now();
  conn.slow = { every: 256 * 1024, pauseMs: ctx.slowPauseMs, since: 0 };
  const x = await exchange(ctx, conn, [payload(10 * MB)]);
  conn.slow = undefined;
  conn.resume();
  const sent = ctx.t.probeSlow(x.sent.length, ctx.slowPauseMs);
  return result(
    ctx,
    "slowRead",
    started,
    sent,
    describeGot(ctx, x.sent, x.got, x.ending),
    failureOf(ctx, conn, x),
  );
}

/**
 * 1 MB written while not reading, then a half-close (FIN): the whole echo must still come, then
 * the end of stream. Two results: the echo, and that the server closed after the client left.
 */
export async function halfClose(ctx: Context, conn: ProbeConn): Promise<CheckResult[]> {
  const started = performance.now();
  const data = payload(MB);
  conn.take();
  conn.pause(); // so that the echo waits in the server, as with a client that reads later
  const w = await conn.write(data, ctx.timeoutMs);
  conn.shutdown();
  conn.resume();
  let ending = await conn.until(data.length, ctx.timeoutMs);
  const got = conn.take();
  const o = observe(data, got, ending);
  // Closing early without our FIN too (an earlier check) is that mistake, not this one.
  const closedOnFin =
    (o.kind === "short" || o.kind === "nothing") && ending === "eof" && !ctx.closedEarly;
  let failure =
    connFailure(ctx, conn, { o, writeFailed: w === "ok" ? undefined : w }) ??
    (closedOnFin
      ? { code: "closeOnFin", args: [got.length, data.length] }
      : generic(ctx, o, data.length, got.length));
  const sent = ctx.t.probeHalfClose(data.length);
  const leftAt = performance.now();
  const ended = await conn.ended(ctx.timeoutMs);
  // Bytes after the whole echo, before the end of stream, are part of what came back: a server
  // that says goodbye there adds something.
  const late = conn.take();
  if (late.length > 0 && failure === undefined) failure = { code: "extra", args: [late.length] };
  const echo = result(
    ctx,
    "halfClose",
    started,
    sent,
    describeGot(ctx, data, late.length > 0 ? concat([got, late]) : got, ending),
    failure,
  );
  if (ending === "complete" && !ended) ending = "timeout";
  const closes = result(
    ctx,
    "closesAfter",
    leftAt,
    ctx.t.probeFin,
    ended ? ctx.t.probeEof : ctx.t.probeNoEof(secs(ctx)),
    ended ? undefined : { code: "keptOpen", args: [secs(ctx)] },
  );
  return [echo, closes];
}

// ---- the mode's rule: more connections ----------------------------------------------------------

const line = (text: string) => encode(text + "\n");

/**
 * One line on `conn`, and as many bytes back within the limit: true if served. Whether they are
 * the right bytes is the data checks' business; here only who is served, and when, counts.
 */
async function echoes(ctx: Context, conn: ProbeConn, text: string, ms = ctx.timeoutMs) {
  conn.take();
  const data = line(text);
  if ((await conn.write(data, ms)) !== "ok") return false;
  return (await conn.until(data.length, ms)) === "complete";
}

async function tryOpen(ctx: Context): Promise<ProbeConn | undefined> {
  try {
    return await Conn.open(ctx.target, ctx.timeoutMs);
  } catch {
    return undefined;
  }
}

/**
 * Mode once: after its one client, the next is never served, and is refused or closed. Judged by
 * what the server does, not by the handshake: with listen(1), the kernel's queue completes the
 * handshake of a client that the program never accept()s, until it closes the listening socket
 * (which resets the queued client) or exits.
 */
async function onceRule(ctx: Context): Promise<CheckResult> {
  const started = performance.now();
  const { t } = ctx;
  const conn = await tryOpen(ctx);
  if (conn === undefined) return result(ctx, "once", started, t.probeConnect, t.probeRefused);
  try {
    const served = await echoes(ctx, conn, "again", Math.min(ctx.timeoutMs, 1000));
    if (served || conn.bytes > 0)
      return result(ctx, "once", started, t.probeConnect, t.probeServedAgain, {
        code: "onceAccepted",
      });
    if (conn.eof || (await conn.ended(ctx.timeoutMs)))
      return result(ctx, "once", started, t.probeConnect, t.probeNeverServed);
    const got = t.probeQueuedOpen(secs(ctx));
    return result(ctx, "once", started, t.probeConnect, got, {
      code: "onceHeld",
      args: [secs(ctx)],
    });
  } finally {
    conn.close();
  }
}

/** How long a second client must see nothing while the first is connected. */
const HOLD_MS = 300;

type Fail = (got: string, code: CauseCode, args?: (string | number)[]) => CheckResult;

/**
 * The start both two-client rules share: a first client that is echoed, then a second one
 * connected. `then` checks the rule; every connection is closed afterwards.
 */
async function twoClients(
  ctx: Context,
  id: "sequential" | "concurrent",
  then: (first: ProbeConn, second: ProbeConn, fail: Fail) => Promise<CheckResult>,
): Promise<CheckResult> {
  const started = performance.now();
  const { t } = ctx;
  const conns: ProbeConn[] = [];
  const fail: Fail = (got, code, args) =>
    result(ctx, id, started, t.probeTwoClients, got, { code, args });
  try {
    const first = await tryOpen(ctx);
    if (!first) return fail(t.probeRefused, "firstRefused");
    conns.push(first);
    if (!(await echoes(ctx, first, "first")))
      return fail(t.probeFirstNoEcho(secs(ctx)), "firstNoEcho", [secs(ctx)]);
    const second = await tryOpen(ctx);
    if (!second) return fail(t.probeSecondRefused, "secondRefused");
    conns.push(second);
    return await then(first, second, fail);
  } finally {
    for (const conn of conns) conn.close();
  }
}

/** Mode sequential: the second client waits, untouched, until the first leaves, then is served. */
function sequentialRule(ctx: Context): Promise<CheckResult> {
  const started = performance.now();
  const { t } = ctx;
  return twoClients(ctx, "sequential", async (first, second, fail) => {
    const data = line("second");
    await second.write(data, ctx.timeoutMs);
    await second.until(1, HOLD_MS, HOLD_MS);
    if (second.bytes > 0) return fail(t.probeSecondEarly, "servedAtOnce");
    if (second.eof) return fail(t.probeSecondRefused, "secondRefused");
    if (!(await echoes(ctx, first, "first again")))
      return fail(t.probeFirstNoEcho(secs(ctx)), "firstNoEcho", [secs(ctx)]);
    first.shutdown(); // the first client leaves
    if ((await second.until(data.length, ctx.timeoutMs)) !== "complete")
      return fail(t.probeSecondNever(secs(ctx)), "nextNotServed", [secs(ctx)]);
    return result(ctx, "sequential", started, t.probeTwoClients, t.probeSecondAfter);
  });
}

/** Mode concurrent: a second client is served while the first is still connected. */
function concurrentRule(ctx: Context): Promise<CheckResult> {
  const started = performance.now();
  const { t } = ctx;
  return twoClients(ctx, "concurrent", async (first, second, fail) => {
    if (!(await echoes(ctx, second, "second")))
      return fail(t.probeSecondWaited(secs(ctx)), "oneAtATime", [secs(ctx)]);
    if (!(await echoes(ctx, first, "first again")))
      return fail(t.probeFirstNoEcho(secs(ctx)), "firstNoEcho", [secs(ctx)]);
    return result(ctx, "concurrent", started, t.probeTwoClients, t.probeBothServed);
  });
}

export const modeRule: Record<Mode, (ctx: Context) => Promise<CheckResult>> = {
  once: onceRule,
  sequential: sequentialRule,
  concurrent: concurrentRule,
};
