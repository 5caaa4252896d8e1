/** What `bun run bench` prints and draws from its results: a Markdown table and an SVG chart. */

export interface Figure {
  value: number; // in the scenario's unit
  spread: [number, number]; // lowest and highest of the rounds
  cpuPerOp?: number; // server CPU µs per unit of work (Linux /proc), median of the rounds
  latency?: { p50: number; p99: number; p999: number }; // ms, median of the rounds
}

export interface Row {
  scenario: string;
  unit: string;
  lowerIsBetter?: boolean;
  figures: Record<string, Figure | string>; // server name -> figure, or why it failed
}

const number = (n: number) =>
  n >= 100
    ? Math.round(n).toLocaleString("en-US")
    : n >= 1
      ? n.toFixed(2).replace(/\.?0+$/, "")
      : n.toPrecision(2);
const ms = (n: number) => (n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3));

/** Percentile of sorted samples (nearest rank). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * One row per scenario: each server's median (with the spread of the rounds when there were
 * several), then each server's ratio to the baseline for speed and for CPU per unit of work.
 */
export function table(rows: Row[], servers: string[], baseline: string | undefined): string {
  const others = servers.filter((s) => s !== baseline);
  const head = ["scenario", "unit", ...servers];
  // Every ratio reads the same way: above 1, the server did better than the baseline.
  if (baseline) for (const s of others) head.push(`${s} vs ${baseline}`, `cpu ${s} vs ${baseline}`);
  head.push(...servers.map((s) => `${s} p50/p99/p99.9 ms`));
  const lines = [head];
  for (const row of rows) {
    const cells = [row.scenario, row.unit];
    for (const s of servers) {
      const f = row.figures[s];
      if (f === undefined) cells.push("-");
      else if (typeof f === "string") cells.push("FAIL");
      else if (f.spread[0] === f.spread[1]) cells.push(number(f.value));
      else cells.push(`${number(f.value)} (${number(f.spread[0])}-${number(f.spread[1])})`);
    }
    if (baseline) {
      const b = row.figures[baseline];
      for (const s of others) {
        const f = row.figures[s];
        const ok = typeof f === "object" && typeof b === "object";
        const better = ok && (row.lowerIsBetter ? b.value / f.value : f.value / b.value);
        cells.push(better && Number.isFinite(better) ? better.toFixed(2) : "-");
        cells.push(ok && f.cpuPerOp && b.cpuPerOp ? (b.cpuPerOp / f.cpuPerOp).toFixed(2) : "-");
      }
    }
    for (const s of servers) {
      const l = (row.figures[s] as Figure | undefined)?.latency;
      cells.push(l ? `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.p999)}` : "");
    }
    lines.push(cells);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [
    fmt(head),
    `|${widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|")}|`,
    ...lines.slice(1).map(fmt),
  ].join("\n");
}

const COLORS = ["#2f6fbf", "#e07b00", "#3a9a3a", "#9b59b6", "#c0392b"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * A chart a person can read at a glance: for each scenario, one bar per server scaled to the
 * best of that scenario (units differ between scenarios), the figure written on the bar; and for
 * ping-pong scenarios a second panel with p50, p99 and p99.9 latency per server.
 */
export function svg(rows: Row[], servers: string[], title: string): string {
  const W = 860;
  const labelW = 170;
  const barH = 16;
  const gap = 10;
  const plotW = W - labelW - 150;
  const parts: string[] = [];
  let y = 56;
  const text = (x: number, yy: number, s: string, extra = "") =>
    `<text x="${x}" y="${yy}" ${extra}>${esc(s)}</text>`;
  parts.push(text(20, 28, title, 'font-size="16" font-weight="bold"'));
  servers.forEach((s, i) => {
    const x = 20 + i * 150;
    parts.push(`<rect x="${x}" y="36" width="12" height="12" fill="${COLORS[i % 5]}"/>`);
    parts.push(text(x + 18, 46, s));
  });
  y += 10;
  parts.push(
    text(
      20,
      y,
      "Throughput (longer is better; idle memory: shorter is better)",
      'font-weight="bold"',
    ),
  );
  y += 12;
  for (const row of rows) {
    const values = servers.map((s) => row.figures[s]);
    const best = Math.max(...values.map((f) => (typeof f === "object" ? f.value : 0)), 1e-9);
    parts.push(text(20, y + barH * 0.8 * servers.length, `${row.scenario} (${row.unit})`));
    values.forEach((f, i) => {
      const yy = y + i * barH;
      if (typeof f !== "object") {
        parts.push(text(labelW, yy + barH - 4, f === undefined ? "-" : "FAILED", 'fill="#c0392b"'));
        return;
      }
      const w = Math.max(1, (f.value / best) * plotW);
      parts.push(
        `<rect x="${labelW}" y="${yy}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${COLORS[i % 5]}"/>`,
      );
      parts.push(text(labelW + w + 6, yy + barH - 4, number(f.value), 'font-size="12"'));
    });
    y += servers.length * barH + gap;
  }
  const pp = rows.filter((r) => servers.some((s) => (r.figures[s] as Figure | undefined)?.latency));
  if (pp.length > 0) {
    y += 16;
    parts.push(
      text(
        20,
        y,
        "Round-trip latency, ms (log scale; shorter is better): p50 ▮ p99 ▯ p99.9 |",
        'font-weight="bold"',
      ),
    );
    y += 12;
    const all = pp.flatMap((r) =>
      servers.flatMap((s) => {
        const l = (r.figures[s] as Figure | undefined)?.latency;
        return l ? [l.p50, l.p999] : [];
      }),
    );
    const lo = Math.log10(Math.max(1e-3, Math.min(...all)) / 1.5);
    const hi = Math.log10(Math.max(...all) * 1.5);
    const xOf = (v: number) => labelW + ((Math.log10(Math.max(v, 1e-3)) - lo) / (hi - lo)) * plotW;
    for (const row of pp) {
      parts.push(text(20, y + barH * 0.8 * servers.length, row.scenario));
      servers.forEach((s, i) => {
        const l = (row.figures[s] as Figure | undefined)?.latency;
        if (!l) return;
        const yy = y + i * barH;
        const c = COLORS[i % 5];
        parts.push(
          `<rect x="${labelW}" y="${yy}" width="${(xOf(l.p50) - labelW).toFixed(1)}" height="${barH - 2}" fill="${c}"/>`,
          `<rect x="${xOf(l.p50).toFixed(1)}" y="${yy}" width="${(xOf(l.p99) - xOf(l.p50)).toFixed(1)}" height="${barH - 2}" fill="none" stroke="${c}"/>`,
          `<line x1="${xOf(l.p999).toFixed(1)}" x2="${xOf(l.p999).toFixed(1)}" y1="${yy}" y2="${yy + barH - 2}" stroke="${c}" stroke-width="2"/>`,
          text(
            xOf(l.p999) + 6,
            yy + barH - 4,
            `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.p999)}`,
            'font-size="12"',
          ),
        );
      });
      y += servers.length * barH + gap;
    }
  }
  y += 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
