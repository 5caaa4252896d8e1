/** The probe's report: one line per check (with the cause and advice under a failure), or JSON. */
import type { Messages } from "../messages/index.ts";
import type { Styles } from "../common/colors.ts";
import type { Report } from "./run.ts";
import type { ClientCheckResult } from "./client-grade.ts";

/** A server's report, or a client's (probe --client): the same lines. */
type Shown = Pick<Report, "figures"> & {
  results: (Report["results"][number] | ClientCheckResult)[];
};

export function reportText(t: Messages, report: Shown, paint: Styles): string[] {
  const lines: string[] = [];
  const width = Math.max(...report.results.map((r) => r.name.length));
  for (const r of report.results) {
    if (r.code === "notRun") {
      // Never tried: not a failure of its own; the reason is one line.
      lines.push(`${paint.status(t.probeSkip)}  ${r.name.padEnd(width)}  ${r.cause}`);
      continue;
    }
    const mark = r.passed ? paint.echo(t.probePass) : paint.error(t.probeFail);
    lines.push(`${mark}  ${r.name.padEnd(width)}  ${t.probeLine(r.sent, r.got)}`);
    if (!r.passed) {
      lines.push(`      ${t.probeWhy} ${r.cause}`);
      lines.push(`      ${t.probeWhat} ${r.advice}`);
    }
  }
  const { latencyMs, roundTrips, throughputMBs } = report.figures;
  if (latencyMs !== undefined) lines.push(paint.status(t.probeLatency(latencyMs, roundTrips ?? 0)));
  if (throughputMBs !== undefined) lines.push(paint.status(t.probeThroughput(throughputMBs)));
  // A blocking send() on Linux usually takes everything, so passing proves nothing about it.
  if (report.results.some((r) => r.id === "slowRead" && r.passed))
    lines.push(paint.status(t.probeSendall));
  const passed = report.results.filter((r) => r.passed).length;
  const total = report.results.length;
  const summary = t.probeSummary(passed, total);
  lines.push(passed === total ? paint.strong(summary) : paint.error(summary));
  return lines;
}

export function reportJson(
  report: Shown,
  about: { address: string; expect?: string; tls?: boolean; client?: string },
): string {
  const passed = report.results.filter((r) => r.passed).length;
  return JSON.stringify(
    {
      ...about,
      passed,
      failed: report.results.length - passed,
      checks: report.results.map((r) => ({ ...r, ms: Math.round(r.ms) })),
      figures: report.figures,
    },
    null,
    2,
  );
}
