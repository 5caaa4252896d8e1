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
const BATTERY: [checks.CheckId[], Step][] = [
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
  const results: CheckResult[] = [];
  let conn: ProbeConn;
  try {
    conn = await ProbeConn.open(target, timeoutMs);
  } catch (error) {
    return { results, figures: ctx.figures, connectError: error };
  }
  let lost: string | undefined; // why the checks left cannot run
  try {
    for (const [ids, step] of BATTERY) {
      // The server closed or ended the connection in the previous check (FIN counts too).
      if (lost === undefined && (conn.closed || conn.eof)) {
        // The connection died in the previous check: a new one, unless mode once forbids it.
        if (expect === "once") {
          const before = results.at(-1)!;
          // After a check that passed, closing is the mistake itself: said as a failure.
          if (before.passed) {
            results.push(checks.closedAfter(ctx, ids[0]!, before.name));
            for (const id of ids.slice(1))
              results.push(notRun(ctx, id, t.probeLostOnceAfter(before.name)));
            lost = t.probeLostOnceAfter(before.name);
            continue;
          }
          lost = t.probeLostOnce(before.name);
        } else {
          conn.close();
          try {
            conn = await ProbeConn.open(target, timeoutMs);
          } catch {
            lost = t.probeGone;
          }
        }
      }
      if (lost !== undefined) {
        for (const id of ids) results.push(notRun(ctx, id, lost));
        continue;
      }
      const got = await step(ctx, conn);
      const list = Array.isArray(got) ? got : [got];
      // A TLS server answered plain text: nothing else can be checked without --tls. One that
      // answered nothing at all, only closed, is asked for a handshake to tell.
      const silentClose = results.length === 0 && conn.closed && conn.total === 0;
      if (
        list.some((r) => r.code === "speaksTls") ||
        (silentClose && !target.tls && (await speaksTls(target, timeoutMs)))
      )
        return { results: [], figures: ctx.figures, connectError: new TlsMismatch(true) };
      results.push(...list);
      // Not one byte back and the connection still open: the server hangs. Not waited for again.
      const hung = list.find((r) => r.code === "noEcho" && !conn.closed);
      if (hung) lost = t.probeHung(hung.name);
      else if (conn.flooded) lost = t.probeFlooded;
      else if (outOfTime()) lost = t.probeOutOfTime(Math.round((RUN_WAITS * timeoutMs) / 1000));
    }
  } finally {
    conn.close();
  }
  const skipRule = lost === t.probeGone || conn.flooded || outOfTime();
  results.push(skipRule ? notRun(ctx, expect, lost ?? t.probeGone) : await modeRule[expect](ctx));
  return { results, figures: ctx.figures };
}
