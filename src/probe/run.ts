/**
 * The battery: every data check on one connection (a server in mode once serves only one), then
 * the mode's rule on new connections. A connection that dies mid-run is replaced (not in mode
 * once); a server that stops answering is reported, and the checks left are not waited for.
 */
import type { Messages } from "../messages/index.ts";
import type { Mode } from "../cli/values.ts";
import * as checks from "./checks.ts";
import { type CheckResult, type Context, modeRule, notRun } from "./checks.ts";
import { outOfTime, ProbeConn, runUntil, speaksTls, type Target, TlsMismatch } from "./conn.ts";

/** The whole battery's time, however a server trickles: ten waits' worth. */
const RUN_WAITS = 10;

export interface Report {
  results: CheckResult[];
  figures: Context["figures"];
  /** Set when the very first connection failed: nothing could be checked. */
  connectError?: unknown;
}

type Step = (ctx: Context, conn: ProbeConn) => Promise<CheckResult | CheckResult[]>;
/** Each step with the results it gives, in order. */
const BATTERY: [[checks.CheckId, ...checks.CheckId[]], Step][] = [
  [["shortLine"], checks.shortLine],
  [["pieces"], checks.pieces],
  [["together"], checks.together],
  [["allBytes"], checks.allBytes],
  [["bulk"], checks.bulk],
  [["slowRead"], checks.slowRead],
  [["halfClose", "closesAfter"], checks.halfClose], // ends the connection: last
];

export async function runProbe(
  t: Messages,
  target: Target,
  expect: Mode,
  timeoutMs: number,
  slowPauseMs: number,
): Promise<Report> {
  const ctx: Context = { t, target, timeoutMs, slowPauseMs, figures: {} };
  runUntil(performance.now() + RUN_WAITS * timeoutMs);
  let battery: Battery;
  try {
    battery = new Battery(ctx, expect, await ProbeConn.open(target, timeoutMs));
  } catch (error) {
    return { results: [], figures: ctx.figures, connectError: error };
  }
  try {
    for (const [ids, step] of BATTERY) {
      if (!(await battery.run(ids, step)))
        return { results: [], figures: ctx.figures, connectError: new TlsMismatch(true) };
    }
  } finally {
    battery.conn.close();
  }
  return { results: [...battery.results, await battery.modeRule()], figures: ctx.figures };
}

/** The data checks on one connection, replaced when it dies, and why the rest cannot run. */
class Battery {
  readonly results: CheckResult[] = [];
  /** Why the checks left cannot run. */
  private lost: string | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly expect: Mode,
    public conn: ProbeConn,
  ) {}

  /** One step, or its results as not run; false when the server turned out to speak TLS. */
  async run(ids: [checks.CheckId, ...checks.CheckId[]], step: Step): Promise<boolean> {
    // The server closed or ended the connection in the previous check (FIN counts too).
    if (this.lost === undefined && (this.conn.closed || this.conn.eof)) {
      // The connection died in the previous check: a new one, unless mode once forbids it.
      if (this.expect !== "once") await this.reconnect();
      else if (this.closedInOnce(ids)) return true;
    }
    if (this.lost !== undefined) {
      for (const id of ids) this.results.push(notRun(this.ctx, id, this.lost));
      return true;
    }
    const got = await step(this.ctx, this.conn);
    const list = Array.isArray(got) ? got : [got];
    if (await this.speaksTls(list)) return false;
    this.results.push(...list);
    this.lost = this.stopped(list);
    return true;
  }

  /** The check of the mode's rule, unless the server is gone, flooded us, or time is out. */
  async modeRule(): Promise<CheckResult> {
    const { ctx, conn, lost } = this;
    const skipRule = lost === ctx.t.probeGone || conn.flooded || outOfTime();
    return skipRule
      ? notRun(ctx, this.expect, lost ?? ctx.t.probeGone)
      : modeRule[this.expect](ctx);
  }

  private async reconnect(): Promise<void> {
    this.conn.close();
    try {
      this.conn = await ProbeConn.open(this.ctx.target, this.ctx.timeoutMs);
    } catch {
      this.lost = this.ctx.t.probeGone;
    }
  }

  /**
   * Mode once, the connection gone after the check before: true when that is said as a failure
   * of these checks (after a check that passed, closing is the mistake itself).
   */
  private closedInOnce([first, ...others]: [checks.CheckId, ...checks.CheckId[]]): boolean {
    const { ctx } = this;
    const before = this.results.at(-1);
    // No check before: this one runs, and sees the connection closed.
    if (before === undefined) return false;
    if (!before.passed) {
      this.lost = ctx.t.probeLostOnce(before.name);
      return false;
    }
    this.results.push(checks.closedAfter(ctx, first, before.name));
    for (const id of others)
      this.results.push(notRun(ctx, id, ctx.t.probeLostOnceAfter(before.name)));
    this.lost = ctx.t.probeLostOnceAfter(before.name);
    return true;
  }

  /**
   * A TLS server answered plain text: nothing else can be checked without --tls. One that
   * answered nothing at all, only closed, is asked for a handshake to tell.
   */
  private async speaksTls(list: CheckResult[]): Promise<boolean> {
    const { conn, ctx } = this;
    const silentClose = this.results.length === 0 && conn.closed && conn.total === 0;
    return (
      list.some((r) => r.code === "speaksTls") ||
      (silentClose && !ctx.target.tls && (await speaksTls(ctx.target, ctx.timeoutMs)))
    );
  }

  /** Why the checks left are not run after these results, if they are not. */
  private stopped(list: CheckResult[]): string | undefined {
    const { t, timeoutMs } = this.ctx;
    // Not one byte back and the connection still open: the server hangs. Not waited for again.
    const hung = list.find((r) => r.code === "noEcho" && !this.conn.closed);
    if (hung) return t.probeHung(hung.name);
    if (this.conn.flooded) return t.probeFlooded;
    if (outOfTime()) return t.probeOutOfTime(Math.round((RUN_WAITS * timeoutMs) / 1000));
    return undefined;
  }
}
