/**
 * The server's figures, and their Prometheus text exposition (format 0.0.4): HELP and TYPE
 * lines, then one sample per line. With --workers the parent adds up every worker's figures,
 * and its own process figures: the parent is part of the target.
 *
 * Every field is a number, a record of numbers or a fixed-length array of numbers, so that sums
 * (and whatever stores the figures) can treat them all alike.
 */
import pkg from "../../../../package.json";

export type RefusalReason = "max_connections" | "proxy_header" | "mode_once" | "untrusted";

export interface Figures {
  connectionsTotal: number;
  connectionsOpen: number;
  connectionsPaused: number; // not read from: the echo waits for a slow reader (backpressure)
  bytesReceived: number;
  bytesEchoed: number; // handed to the kernel, not lost to the server's own close
  refused: Record<RefusalReason, number>;
  idleTimeouts: number;
  datagrams: number;
  datagramBytesEchoed: number;
  datagramsDropped: number;
  datagramsUnreachable: number;
  datagramBytesReceived: number;
  /** Per bucket of DURATION_BUCKETS, not cumulative; the last one is +Inf. */
  durationBuckets: number[];
  durationSum: number; // seconds
  /** Bytes received per connection, per bucket of BYTES_BUCKETS, not cumulative; last is +Inf. */
  bytesBuckets: number[];
  bytesSum: number;
  // The process itself, taken when the figures are: gauges but the CPU counter.
  cpuSeconds: number;
  residentBytes: number;
  openFds: number; // NaN where it cannot be known (not Linux)
  datagramsRefused: number;
}

/**
 * How long a connection lasted, in seconds: from a probe or a bench run (milliseconds), through
 * a typed lab session (seconds to minutes), to a client kept open behind a balancer (an hour):
 * roughly two steps a decade over 5 ms to 1 h.
 */
export const DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];
/**
 * Bytes a client sent on one connection: typed lines (tens of bytes) to transfers of a
 * gigabyte, in powers of 4 from 64 B to 1 GiB (--max-buffer, 256 KiB by default, falls on one).
 */
export const BYTES_BUCKETS = Array.from({ length: 13 }, (_, i) => 64 * 4 ** i);

/** Counts one observation into non-cumulative buckets (the last one is +Inf). */
export function observe(buckets: number[], bounds: readonly number[], value: number): void {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  buckets[i]!++;
}

export function noFigures(): Figures {
  return {
    connectionsTotal: 0,
    connectionsOpen: 0,
    connectionsPaused: 0,
    bytesReceived: 0,
    bytesEchoed: 0,
    refused: { max_connections: 0, proxy_header: 0, mode_once: 0, untrusted: 0 },
    idleTimeouts: 0,
    datagrams: 0,
    datagramBytesEchoed: 0,
    datagramsDropped: 0,
    datagramsUnreachable: 0,
    datagramBytesReceived: 0,
    durationBuckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
    durationSum: 0,
    bytesBuckets: new Array<number>(BYTES_BUCKETS.length + 1).fill(0),
    bytesSum: 0,
    cpuSeconds: 0,
    residentBytes: 0,
    openFds: 0,
    datagramsRefused: 0,
  };
}

/** The sum of several processes' figures: numbers, records key by key, arrays element-wise. */
export function addUp(all: Figures[]): Figures {
  const sum = noFigures() as unknown as Record<string, unknown>;
  for (const f of all as unknown as Record<string, unknown>[]) {
    for (const key of Object.keys(sum)) {
      const [into, from] = [sum[key], f[key]];
      if (typeof into === "number") sum[key] = into + Number(from ?? 0);
      else if (Array.isArray(into))
        into.forEach((v, i) => (into[i] = v + Number((from as number[] | undefined)?.[i] ?? 0)));
      else {
        const record = into as Record<string, number>;
        for (const [k, v] of Object.entries(record))
          record[k] = v + Number((from as Record<string, number> | undefined)?.[k] ?? 0);
      }
    }
  }
  return sum as unknown as Figures;
}

/** What a process that has ended leaves to the sums: its counters, not its gauges. */
export function retired(f: Figures): Figures {
  return { ...f, connectionsOpen: 0, connectionsPaused: 0, residentBytes: 0, openFds: 0 };
}

/** Every metric of one sample: its name, type, help, and where its value comes from. */
const METRICS: [string, "counter" | "gauge", string, (f: Figures) => number][] = [
  [
    "echo_connections_total",
    "counter",
    "Connections accepted, refused ones included.",
    (f) => f.connectionsTotal,
  ],
  ["echo_connections_open", "gauge", "Connections open now.", (f) => f.connectionsOpen],
  [
    "echo_connections_paused",
    "gauge",
    "Open connections not read from while their echo waits for a slow reader (backpressure).",
    (f) => f.connectionsPaused,
  ],
  ["echo_bytes_received_total", "counter", "Bytes received from clients.", (f) => f.bytesReceived],
  [
    "echo_bytes_echoed_total",
    "counter",
    "Bytes of echo handed to the kernel for the clients.",
    (f) => f.bytesEchoed,
  ],
  [
    "echo_idle_timeouts_total",
    "counter",
    "Connections closed by --idle-timeout.",
    (f) => f.idleTimeouts,
  ],
];
const UDP_METRICS: typeof METRICS = [
  ["echo_datagrams_total", "counter", "UDP datagrams received.", (f) => f.datagrams],
  [
    "echo_datagram_bytes_received_total",
    "counter",
    "Bytes received in UDP datagrams.",
    (f) => f.datagramBytesReceived,
  ],
  [
    "echo_datagram_bytes_echoed_total",
    "counter",
    "Bytes of UDP echo handed to the kernel.",
    (f) => f.datagramBytesEchoed,
  ],
  [
    "echo_datagrams_dropped_total",
    "counter",
    "UDP echoes dropped: the queue was at --max-buffer.",
    (f) => f.datagramsDropped,
  ],
  [
    "echo_datagrams_unreachable_total",
    "counter",
    "UDP echoes whose sender had left (ICMP port unreachable).",
    (f) => f.datagramsUnreachable,
  ],
  [
    "echo_datagrams_refused_total",
    "counter",
    "UDP datagrams not echoed: they came from the server's own port or an echo-like service's (a loop).",
    (f) => f.datagramsRefused,
  ],
];

const PROCESS_METRICS: typeof METRICS = [
  [
    "process_cpu_seconds_total",
    "counter",
    "Total user and system CPU time spent in seconds.",
    (f) => f.cpuSeconds,
  ],
  [
    "process_resident_memory_bytes",
    "gauge",
    "Resident memory size in bytes.",
    (f) => f.residentBytes,
  ],
  ["process_open_fds", "gauge", "Number of open file descriptors.", (f) => f.openFds],
];

/** The text a Prometheus server scrapes from GET /metrics. */
export function exposition(f: Figures, startTimeSeconds: number, udp: boolean): string {
  const lines: string[] = [];
  // A UDP server has no connections: no TCP series at all, rather than zeros that look measured.
  for (const [name, type, help, value] of udp ? UDP_METRICS : METRICS) {
    head(lines, name, type, help);
    lines.push(`${name} ${value(f)}`);
  }
  if (!udp) connectionSeries(lines, f);
  for (const [name, type, help, value] of PROCESS_METRICS) {
    if (Number.isNaN(value(f))) continue; // not known here: better absent than wrong
    head(lines, name, type, help);
    lines.push(`${name} ${value(f)}`);
  }
  head(
    lines,
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since the Unix epoch in seconds.",
  );
  lines.push(`process_start_time_seconds ${startTimeSeconds}`);
  head(lines, "echo_build_info", "gauge", "The version of echo that serves: always 1.");
  lines.push(`echo_build_info{version="${pkg.version}"} 1`);
  return lines.join("\n") + "\n";
}

const head = (lines: string[], name: string, type: string, help: string) =>
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

/** The TCP series with labels or buckets: refusals by reason, durations and sizes. */
function connectionSeries(lines: string[], f: Figures): void {
  head(
    lines,
    "echo_connections_refused_total",
    "counter",
    "Connections accepted then closed without being served, by reason (a subset of echo_connections_total).",
  );
  for (const [reason, n] of Object.entries(f.refused))
    lines.push(`echo_connections_refused_total{reason="${reason}"} ${n}`);
  histogram(
    lines,
    "echo_connection_duration_seconds",
    "How long each served connection lasted, observed when it closed.",
    [DURATION_BUCKETS, f.durationBuckets, f.durationSum],
  );
  histogram(
    lines,
    "echo_connection_bytes",
    "Bytes received on each served connection, observed when it closed.",
    [BYTES_BUCKETS, f.bytesBuckets, f.bytesSum],
  );
}

/** A histogram's series from its bounds, its (non-cumulative) buckets and its sum. */
function histogram(
  lines: string[],
  name: string,
  help: string,
  [bounds, buckets, sum]: [readonly number[], number[], number],
): void {
  head(lines, name, "histogram", help);
  let cumulative = 0;
  // One bucket more than bounds: the last is +Inf.
  buckets.forEach((count, i) => {
    cumulative += count;
    lines.push(`${name}_bucket{le="${bounds[i] ?? "+Inf"}"} ${cumulative}`);
  });
  lines.push(`${name}_sum ${sum}`, `${name}_count ${cumulative}`);
}
