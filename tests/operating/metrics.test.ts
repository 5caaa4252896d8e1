/**
 * /metrics as an operator reads it: what every Prometheus target has (process figures, build
 * info), histograms of connections, counts that add up (refused ones are accepted ones too), a
 * UDP server without TCP series, and text that `promtool check metrics` finds clean.
 */
import { describe, expect, test } from "bun:test";
import pkg from "../../package.json";
import { readdirSync, readFileSync } from "node:fs";
import {
  addUp,
  BYTES_BUCKETS,
  DURATION_BUCKETS,
  noFigures,
  observe,
} from "../../src/server/features/http/metrics.ts";
import { concurrently, have, Peer, roundTrip, runCommand, startServer } from "../helpers.ts";
import { httpPortOf } from "../support/side-port.ts";

/** The samples of the text, by name and labels as written ("name{le=\"64\"}"). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function metricsOf(http: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
}

/** `promtool check metrics`: exit 0 and not a word of complaint. */
async function promtool(text: string): Promise<void> {
  const check = runCommand(["promtool", "check", "metrics"], { stdin: text });
  const code = await check.exited;
  expect([...check.out.all, ...check.err.all].filter(Boolean)).toEqual([]);
  expect(code).toBe(0);
}

const PROCESS = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "process_open_fds",
  "process_start_time_seconds",
];

describe("what every Prometheus target has", () => {
  concurrently.skipIf(!have("promtool"))(
    "a TCP server: process figures, build info, histograms; promtool finds it clean",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
      const http = await httpPortOf(server);
      // Two connections of known size: 100 bytes and 5,000 bytes.
      for (const size of [100, 5000]) {
        const peer = new Peer(server.port);
        await roundTrip(peer, "x".repeat(size));
        peer.close();
      }
      let text = await metricsOf(http);
      while (samples(text).get("echo_connection_bytes_count") !== 2) text = await metricsOf(http);
      await promtool(text);
      const m = samples(text);
      for (const name of PROCESS) expect(m.get(name)).toBeGreaterThan(0);
      expect(m.get(`echo_build_info{version="${pkg.version}"}`)).toBe(1);
      expect(m.get('echo_connection_bytes_bucket{le="64"}')).toBe(0);
      expect(m.get('echo_connection_bytes_bucket{le="256"}')).toBe(1);
      expect(m.get('echo_connection_bytes_bucket{le="16384"}')).toBe(2);
      expect(m.get('echo_connection_bytes_bucket{le="+Inf"}')).toBe(2);
      expect(m.get("echo_connection_bytes_sum")).toBe(5100);
      expect(m.get("echo_connection_duration_seconds_count")).toBe(2);
      expect(m.get('echo_connection_duration_seconds_bucket{le="+Inf"}')).toBe(2);
      expect(m.get("echo_connection_duration_seconds_sum")).toBeGreaterThan(0);
      expect(m.has("echo_datagrams_total")).toBe(false);
    },
  );

  concurrently.skipIf(!have("promtool"))(
    "a UDP server: its received bytes, and no TCP series as zeros; promtool finds it clean",
    async () => {
      const server = await startServer(["--udp", "--http-port", "0", "--quiet"]);
      const http = await httpPortOf(server);
      const socket = await Bun.udpSocket({
        connect: { hostname: "127.0.0.1", port: server.port },
        socket: { data() {} },
      });
      socket.send("hello, udp\n"); // 11 bytes
      let text = await metricsOf(http);
      while (samples(text).get("echo_datagrams_total") !== 1) text = await metricsOf(http);
      socket.close();
      await promtool(text);
      const m = samples(text);
      expect(m.get("echo_datagram_bytes_received_total")).toBe(11);
      for (const name of PROCESS) expect(m.get(name)).toBeGreaterThan(0);
      expect(m.get(`echo_build_info{version="${pkg.version}"}`)).toBe(1);
      expect([...m.keys()].filter((k) => /^echo_(connection|bytes_|idle)/.test(k))).toEqual([]);
    },
  );

  concurrently.skipIf(!have("promtool"))(
    "--workers 2: the sums, the parent's own process figures among them; promtool finds it clean",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--workers", "2", "--http-port", "0", "--quiet"],
      ]);
      const http = await httpPortOf(server);
      const peer = new Peer(server.port);
      await roundTrip(peer, "x".repeat(300));
      peer.close();
      let text = await metricsOf(http);
      while (samples(text).get("echo_connection_bytes_count") !== 1) text = await metricsOf(http);
      await promtool(text);
      const m = samples(text);
      expect(m.get('echo_connection_bytes_bucket{le="1024"}')).toBe(1);
      // Three processes: each holds stdio and more, so the sum is well beyond one alone.
      expect(m.get("process_open_fds")).toBeGreaterThan(3 * 3);
      expect(m.get("process_resident_memory_bytes")).toBeGreaterThan(3 * 10_000_000);
      expect(m.get(`echo_build_info{version="${pkg.version}"}`)).toBe(1);
      // The CPU of the three processes, each once: never more than the kernel counted for them
      // (read after the scrape; clock ticks of 10 ms each, rounded down, allowed for).
      const cpu = m.get("process_cpu_seconds_total")!;
      expect(cpu).toBeLessThanOrEqual(cpuOfTree(server.proc.pid) + 0.05);
      expect(cpu).toBeGreaterThan(0);
    },
  );
});

/** User and system CPU seconds of a process and its children, as the kernel counts them. */
function cpuOfTree(pid: number): number {
  const stat = (p: string) => {
    try {
      // Fields after the command's closing parenthesis: state ppid ... utime(12) stime(13).
      const after = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ");
      return { ppid: Number(after[1]), ticks: Number(after[11]) + Number(after[12]) };
    } catch {
      return undefined;
    }
  };
  let ticks = stat(String(pid))?.ticks ?? 0;
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const s = stat(p);
    if (s?.ppid === pid) ticks += s.ticks;
  }
  return ticks / 100;
}

concurrently(
  "echo_connections_total counts those refused at --max-connections; refused is its subset",
  async () => {
    const server = await startServer([
      ...["--mode", "concurrent", "--max-connections", "1", "--http-port", "0", "--quiet"],
    ]);
    const http = await httpPortOf(server);
    const held = new Peer(server.port);
    await roundTrip(held, "hi\n");
    const refused = new Peer(server.port);
    await refused.ended; // closed by the server, unserved
    const m = samples(await metricsOf(http));
    expect(m.get('echo_connections_refused_total{reason="max_connections"}')).toBe(1);
    expect(m.get("echo_connections_total")).toBe(2);
    expect(m.get("echo_connections_open")).toBe(1);
    held.close();
  },
);

test("figures add up field by field: numbers, records, and histogram buckets element-wise", () => {
  const a = noFigures();
  const b = noFigures();
  observe(a.bytesBuckets, BYTES_BUCKETS, 10);
  observe(b.bytesBuckets, BYTES_BUCKETS, 10);
  observe(b.bytesBuckets, BYTES_BUCKETS, 2 ** 40); // beyond the last bound: +Inf
  observe(a.durationBuckets, DURATION_BUCKETS, 0.005); // on a bound: that bucket (le)
  a.refused.max_connections = 2;
  b.refused.max_connections = 3;
  [a.cpuSeconds, b.cpuSeconds] = [1.5, 2];
  const sum = addUp([a, b]);
  expect(sum.bytesBuckets[0]).toBe(2);
  expect(sum.bytesBuckets.at(-1)).toBe(1);
  expect(sum.durationBuckets[0]).toBe(1);
  expect(sum.refused.max_connections).toBe(5);
  expect(sum.cpuSeconds).toBe(3.5);
  expect(a.bytesBuckets[0]).toBe(1); // the parts are left as they were
});
