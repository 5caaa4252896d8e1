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

/** The text a Prometheus server scrapes from GET /metrics. */
export function exposition(f: Figures, startTimeSeconds: number, udp: boolean): string {
  const lines: string[] = [];
  const metric = (name: string, type: "counter" | "gauge", help: string, samples: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const one = (name: string, value: number) => [`${name} ${value}`];
  metric(
    "echo_connections_total",
    "counter",
    "Connections accepted.",
    one("echo_connections_total", f.connectionsTotal),
  );
  metric(
    "echo_connections_open",
    "gauge",
    "Connections open now.",
    one("echo_connections_open", f.connectionsOpen),
  );
  metric(
    "echo_connections_paused",
    "gauge",
    "Open connections not read from while their echo waits for a slow reader (backpressure).",
    one("echo_connections_paused", f.connectionsPaused),
  );
  metric(
    "echo_bytes_received_total",
    "counter",
    "Bytes received from clients.",
    one("echo_bytes_received_total", f.bytesReceived),
  );
  metric(
    "echo_bytes_echoed_total",
    "counter",
    "Bytes of echo handed to the kernel for the clients.",
    one("echo_bytes_echoed_total", f.bytesEchoed),
  );
  metric(
    "echo_connections_refused_total",
    "counter",
    "Connections closed without being served, by reason.",
    Object.entries(f.refused).map(
      ([reason, n]) => `echo_connections_refused_total{reason="${reason}"} ${n}`,
    ),
  );
  metric(
    "echo_idle_timeouts_total",
    "counter",
    "Connections closed by --idle-timeout.",
    one("echo_idle_timeouts_total", f.idleTimeouts),
  );
  if (udp) {
    metric(
      "echo_datagrams_total",
      "counter",
      "UDP datagrams received.",
      one("echo_datagrams_total", f.datagrams),
    );
    metric(
      "echo_datagram_bytes_echoed_total",
      "counter",
      "Bytes of UDP echo handed to the kernel.",
      one("echo_datagram_bytes_echoed_total", f.datagramBytesEchoed),
    );
    metric(
      "echo_datagrams_dropped_total",
      "counter",
      "UDP echoes dropped: the queue was at --max-buffer.",
      one("echo_datagrams_dropped_total", f.datagramsDropped),
    );
    metric(
      "echo_datagrams_unreachable_total",
      "counter",
      "UDP echoes whose sender had left (ICMP port unreachable).",
      one("echo_datagrams_unreachable_total", f.datagramsUnreachable),
    );
  }
  metric(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since the Unix epoch in seconds.",
    one("process_start_time_seconds", startTimeSeconds),
  );
  return lines.join("\n") + "\n";
}
