/**
 * The server's figures, and their Prometheus text exposition (format 0.0.4): HELP and TYPE
 * lines, then one sample per line. With --workers the parent adds up every worker's figures.
 */

export type RefusalReason = "max_connections" | "proxy_header" | "mode_once";

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
  datagramsRefused: number;
}

export function noFigures(): Figures {
  return {
    connectionsTotal: 0,
    connectionsOpen: 0,
    connectionsPaused: 0,
    bytesReceived: 0,
    bytesEchoed: 0,
    refused: { max_connections: 0, proxy_header: 0, mode_once: 0 },
    idleTimeouts: 0,
    datagrams: 0,
    datagramBytesEchoed: 0,
    datagramsDropped: 0,
    datagramsUnreachable: 0,
    datagramsRefused: 0,
  };
}

/** The sum of several processes' figures. */
export function addUp(all: Figures[]): Figures {
  const sum = noFigures();
  for (const f of all) {
    for (const key of Object.keys(sum) as (keyof Figures)[]) {
      if (key === "refused") continue;
      sum[key] += f[key];
    }
    for (const reason of Object.keys(sum.refused) as RefusalReason[])
      sum.refused[reason] += f.refused[reason] ?? 0;
  }
  return sum;
}

/** Every metric of one sample: its name, type, help, and where its value comes from. */
const METRICS: [string, "counter" | "gauge", string, (f: Figures) => number][] = [
  ["echo_connections_total", "counter", "Connections accepted.", (f) => f.connectionsTotal],
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

/** The text a Prometheus server scrapes from GET /metrics. */
export function exposition(f: Figures, startTimeSeconds: number, udp: boolean): string {
  const lines: string[] = [];
  const head = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [name, type, help, value] of [...METRICS, ...(udp ? UDP_METRICS : [])]) {
    head(name, type, help);
    lines.push(`${name} ${value(f)}`);
  }
  // The one metric with a label: why a connection was turned away.
  head(
    "echo_connections_refused_total",
    "counter",
    "Connections closed without being served, by reason.",
  );
  for (const [reason, n] of Object.entries(f.refused))
    lines.push(`echo_connections_refused_total{reason="${reason}"} ${n}`);
  head(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since the Unix epoch in seconds.",
  );
  lines.push(`process_start_time_seconds ${startTimeSeconds}`);
  return lines.join("\n") + "\n";
}
