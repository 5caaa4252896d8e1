/** What `bun run bench` prints and draws from its results: a Markdown table and an SVG chart. */

export interface Figure {
  value: number; // in the scenario's unit
  spread: [number, number]; // lowest and highest of the rounds
  cpuPerOp?: number; // server CPU µs per unit of work (Linux /proc), median of the rounds
  latency?: { p50: number; p99: number; p999: number }; // ms, median of the rounds
  lost?: { lost: number; sent: number }; // udp: datagrams with no echo, of those sent, all rounds
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

const W = 860;
const LABEL_W = 170;
const BAR_H = 16;
const GAP = 10;
const PLOT_W = W - LABEL_W - 150;
const INK = 'stroke="#222" stroke-width="1.5"'; // the spread's mark
const BOLD = 'font-weight="bold"';

const text = (x: number, y: number, s: string, extra = "") =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`;
const line = (x1: number, y1: number, x2: number, y2: number, extra: string) =>
  `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${extra}/>`;
const figure = (row: Row, s: string) => {
  const f = row.figures[s];
  return typeof f === "object" ? f : undefined;
};

/**
 * A chart a person can read at a glance: for each scenario, one bar per server scaled to the
 * best of that scenario (units differ between scenarios), the median written after the bar and
 * the spread of the rounds drawn over it (lowest-highest); and for ping-pong scenarios a second
 * panel, on a log axis in ms, with p50 (filled), p99 (outlined) and p99.9 (whisker) per server.
 */
export function svg(rows: Row[], servers: string[], title: string): string {
  // The title first: the latency panel's gridlines go right after it, under everything else.
  const parts = [
    text(20, 28, title, 'font-size="16" font-weight="bold"'),
    ...legend(rows, servers),
  ];
  let y = throughputPanel(parts, rows, servers, 66);
  const pp = rows.filter((r) => servers.some((s) => figure(r, s)?.latency));
  if (pp.length > 0) y = latencyPanel(parts, pp, servers, y + 16);
  y += 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** A colour per server, and the spread's mark if any figure has one. */
function legend(rows: Row[], servers: string[]): string[] {
  const parts = servers.flatMap((s, i) => {
    const x = 20 + i * 150;
    return [
      `<rect x="${x}" y="36" width="12" height="12" fill="${COLORS[i % 5]}"/>`,
      text(x + 18, 46, s),
    ];
  });
  const spreads = rows.some((r) =>
    servers.some((s) => {
      const f = figure(r, s);
      return f !== undefined && f.spread[0] !== f.spread[1];
    }),
  );
  if (spreads) {
    const x = 20 + servers.length * 150;
    parts.push(
      line(x, 42, x + 24, 42, INK),
      line(x, 37, x, 47, INK),
      line(x + 24, 37, x + 24, 47, INK),
    );
    parts.push(text(x + 32, 46, "lowest-highest of the rounds"));
  }
  return parts;
}

/** Every scenario's bars, from `y` down; returns where the next panel starts. */
function throughputPanel(parts: string[], rows: Row[], servers: string[], y: number): number {
  const memory = rows.some((r) => r.lowerIsBetter);
  const shorter = memory ? "; memory per idle connection: shorter is better" : "";
  parts.push(text(20, y, `Throughput (longer is better${shorter})`, BOLD));
  y += 12;
  for (const row of rows) {
    const values = servers.map((s) => row.figures[s]);
    const best = Math.max(
      ...values.map((f) => (typeof f === "object" ? Math.max(f.value, f.spread[1]) : 0)),
      1e-9,
    );
    const xOf = (v: number) => LABEL_W + Math.max(1, (v / best) * PLOT_W);
    parts.push(text(20, y + BAR_H * 0.8 * servers.length, `${row.scenario} (${row.unit})`));
    values.forEach((f, i) => parts.push(...bar(f, i, y + i * BAR_H, xOf)));
    y += servers.length * BAR_H + GAP;
  }
  return y;
}

/** Server `i`'s bar at `y`: its median, the spread of its rounds, the figure; or why none. */
function bar(f: Figure | string | undefined, i: number, y: number, xOf: (v: number) => number) {
  if (typeof f !== "object")
    return [text(LABEL_W, y + BAR_H - 4, f === undefined ? "-" : "FAILED", 'fill="#c0392b"')];
  const parts = [
    `<rect x="${LABEL_W}" y="${y}" width="${(xOf(f.value) - LABEL_W).toFixed(1)}" height="${BAR_H - 2}" fill="${COLORS[i % 5]}"/>`,
  ];
  let end = xOf(f.value);
  if (f.spread[0] !== f.spread[1]) {
    const [a, b] = [xOf(f.spread[0]), xOf(f.spread[1])];
    const mid = y + (BAR_H - 2) / 2;
    parts.push(line(a, mid, b, mid, INK), line(a, y + 3, a, y + BAR_H - 5, INK));
    parts.push(line(b, y + 3, b, y + BAR_H - 5, INK));
    end = Math.max(end, b);
  }
  parts.push(text(end + 6, y + BAR_H - 4, number(f.value), 'font-size="12"'));
  return parts;
}

/** The ping-pong scenarios' latencies on one log axis, from `y` down; returns where it ends. */
function latencyPanel(parts: string[], pp: Row[], servers: string[], y: number): number {
  const heading =
    "Round-trip latency, ms, log scale (shorter is better): p50 filled, p99 outlined, p99.9 whisker";
  parts.push(text(20, y, heading, BOLD));
  y += 20;
  const all = pp.flatMap((r) =>
    servers.flatMap((s) => {
      const l = figure(r, s)?.latency;
      return l ? [l.p50, l.p999] : [];
    }),
  );
  const scale = logScale(all);
  const top = y;
  parts.push(text(LABEL_W + PLOT_W + 8, top - 4, "p50 / p99 / p99.9", 'font-size="11"'));
  for (const row of pp) {
    parts.push(text(20, y + BAR_H * 0.8 * servers.length, row.scenario));
    servers.forEach((s, i) => {
      const l = figure(row, s)?.latency;
      if (l) parts.push(...percentiles(l, i, y + i * BAR_H, scale.xOf));
    });
    y += servers.length * BAR_H + GAP;
  }
  axis(parts, scale, top, y - GAP + 4);
  return y + 20;
}

/** An axis from 1-2-5 steps around the figures, where each of them lands on it. */
function logScale(figures: number[]) {
  const steps = (e: number) => [1, 2, 5].map((m) => m * 10 ** e);
  const ladder = [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5].flatMap(steps);
  const from = Math.max(...ladder.filter((v) => v <= Math.min(...figures) / 1.5), 1e-4);
  const to = Math.min(...ladder.filter((v) => v >= Math.max(...figures) * 1.05), 1e6);
  const [lo, hi] = [Math.log10(from), Math.log10(to)];
  const xOf = (v: number) => LABEL_W + ((Math.log10(Math.max(v, from)) - lo) / (hi - lo)) * PLOT_W;
  return { ladder, from, to, xOf };
}

/** Server `i`'s latencies at `y`: p50 filled, p99 outlined, p99.9 a whisker, then the figures. */
function percentiles(
  l: NonNullable<Figure["latency"]>,
  i: number,
  y: number,
  xOf: (v: number) => number,
): string[] {
  const mid = y + (BAR_H - 2) / 2;
  const c = COLORS[i % 5];
  const [x50, x99, x999] = [xOf(l.p50), xOf(l.p99), xOf(l.p999)];
  return [
    `<rect x="${LABEL_W}" y="${y}" width="${(x50 - LABEL_W).toFixed(1)}" height="${BAR_H - 2}" fill="${c}"/>`,
    `<rect x="${x50.toFixed(1)}" y="${y + 0.5}" width="${Math.max(0, x99 - x50).toFixed(1)}" height="${BAR_H - 3}" fill="white" stroke="${c}"/>`,
    line(x99, mid, x999, mid, `stroke="${c}" stroke-width="1.5"`),
    line(x999, y + 2, x999, y + BAR_H - 4, `stroke="${c}" stroke-width="2"`),
    text(
      LABEL_W + PLOT_W + 8,
      y + BAR_H - 4,
      `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.p999)}`,
      'font-size="12"',
    ),
  ];
}

/** The axis at `base`: a gridline from `top` and a label at each power of ten, then "ms". */
function axis(parts: string[], scale: ReturnType<typeof logScale>, top: number, base: number) {
  const { ladder, from, to, xOf } = scale;
  parts.push(line(LABEL_W, base, LABEL_W + PLOT_W, base, 'stroke="#444"'));
  const tenth = (v: number) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
  const ticks = [from, ...ladder.filter((v) => v > from * 1.5 && v <= to && tenth(v))];
  if (to >= (ticks.at(-1) ?? from) * 3) ticks.push(to);
  for (const v of ticks) {
    const x = xOf(v);
    parts.splice(1, 0, line(x, top - 4, x, base, 'stroke="#ddd"')); // under the bars
    parts.push(line(x, base, x, base + 4, 'stroke="#444"'));
    const label = Number(v.toPrecision(1)).toLocaleString("en-US", { maximumFractionDigits: 4 });
    parts.push(text(x, base + 16, label, 'font-size="11" text-anchor="middle"'));
  }
  parts.push(text(LABEL_W + PLOT_W + 24, base + 16, "ms", 'font-size="11"'));
}
