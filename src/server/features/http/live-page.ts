/**
 * The live page itself: one HTML document with its style and script inline (a lab may be
 * offline: nothing is fetched from elsewhere), big enough to read on a projector, read-only.
 * It opens a WebSocket to /live and redraws from each snapshot (src/server/features/http/live.ts).
 */
import type { Messages } from "../../../messages/index.ts";

export function livePage(t: Messages, lang: string): string {
  const words = JSON.stringify(t.live);
  return `<!doctype html>
<html lang="${lang === "pt" ? "pt-BR" : "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.live.title}</title>
<style>
  :root { color-scheme: light dark; --fg: #111; --bg: #fafafa; --dim: #666; --accent: #0a7d4f; --warn: #b35c00; }
  @media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #161616; --dim: #999; --accent: #4fd39a; --warn: #ffb561; } }
  body { font: 20px/1.4 system-ui, sans-serif; margin: 1.5rem; color: var(--fg); background: var(--bg); }
  h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.2rem; margin: 1.2rem 0 .4rem; }
  .totals { display: flex; gap: 2.5rem; flex-wrap: wrap; font-size: 1.3rem; }
  .totals b { display: block; font-size: 2rem; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .25rem .8rem .25rem 0; border-bottom: 1px solid #8884; }
  td.num, th.num { text-align: right; }
  .state-echoing { color: var(--accent); } .state-paused { color: var(--warn); }
  .state-half-closed, .state-waiting { color: var(--dim); }
  #events { font: 16px/1.35 ui-monospace, monospace; white-space: pre; max-height: 16rem; overflow: hidden; }
  #status, .dim { color: var(--dim); font-size: 1rem; }
  svg { width: 100%; height: 120px; }
</style>
</head>
<body>
<h1>${t.live.title}</h1>
<div id="status">${t.live.connecting}</div>
<div class="totals">
  <div>${t.live.open}<b id="open">0</b></div>
  <div>${t.live.total}<b id="connections">0</b></div>
  <div>${t.live.received}<b id="received">0</b></div>
  <div>${t.live.echoed}<b id="echoed">0</b></div>
</div>
<h2>${t.live.rate}</h2>
<div id="peak" class="dim"></div>
<svg id="rate" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="${t.live.rate}"></svg>
<h2>${t.live.connections}</h2>
<table>
  <thead><tr><th>#</th><th>${t.live.peer}</th><th>${t.live.state}</th><th class="num">${t.live.in}</th><th class="num">${t.live.out}</th><th class="num">${t.live.age}</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<div id="more"></div>
<h2>${t.live.events}</h2>
<div id="events"></div>
<script>
const words = ${words};
const number = new Intl.NumberFormat(document.documentElement.lang);
const $ = (id) => document.getElementById(id);
const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
function draw(s) {
  for (const key of ["open", "connections", "received", "echoed"]) $(key).textContent = number.format(s[key]);
  const rows = s.rows.map((r) => {
    const tr = document.createElement("tr");
    tr.id = "conn-" + r.id;
    tr.append(cell("#" + r.id), cell(r.peer), cell(words.states[r.state], "state-" + r.state),
      cell(number.format(r.in), "num"), cell(number.format(r.out), "num"), cell(r.age.toFixed(0) + " s", "num"));
    return tr;
  });
  $("rows").replaceChildren(...rows);
  $("more").textContent = s.open > s.rows.length ? words.more.replace("{n}", number.format(s.open - s.rows.length)) : "";
  $("events").textContent = s.events.length === 0 ? words.noEvents : s.events.slice().reverse()
    .map((e) => (e.ms / 1000).toFixed(3).padStart(9) + " s  " + (e.id ? "#" + e.id + " " : "") + e.event + (e.detail ? " " + e.detail : ""))
    .join("\\n");
  // One bar a second, the newest on the right; the tallest bar is the peak written above.
  const h = s.history, max = Math.max(1, ...h);
  $("peak").textContent = words.peak.replace("{n}", number.format(Math.max(0, ...h)));
  $("rate").innerHTML = h.map((v, i) => {
    const height = Math.max(v > 0 ? 2 : 0, v / max * 116);
    return '<rect x="' + ((60 - h.length + i) * 10 + 1) + '" y="' + (118 - height) + '" width="8" height="' + height + '" fill="currentColor"/>';
  }).join("") + '<line x1="0" y1="119" x2="600" y2="119" stroke="currentColor" stroke-width="1"/>';
}
function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/live");
  ws.onopen = () => ($("status").textContent = words.live);
  ws.onmessage = (m) => draw(JSON.parse(m.data));
  ws.onclose = () => { $("status").textContent = words.lost; setTimeout(connect, 1000); };
}
connect();
</script>
</body>
</html>
`;
}
