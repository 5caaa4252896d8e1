/**
 * What the server shows about itself beyond its log: the figures behind GET /metrics, the rows of
 * the live page, and the --http-port listener that serves them (src/server/features/http/endpoint.ts).
 */
import type { Socket } from "bun";
import { type Conn, held } from "../../connection.ts";
import type { DatagramStats } from "../udp.ts";
import { readdirSync } from "node:fs";
import {
  BYTES_BUCKETS,
  DURATION_BUCKETS,
  type Figures,
  noFigures,
  observe,
  type RefusalReason,
} from "./metrics.ts";
import { LiveView, SHOWN, type LiveRow, type LiveState } from "./live.ts";
import { livePage } from "./live-page.ts";
import { HTTP_CONNECTIONS, serveEndpoint } from "./endpoint.ts";
import { catalogs, type Messages } from "../../../messages/index.ts";
import type { Say } from "../../../common/say.ts";
import type { Voice } from "../../state.ts";
import { formatAddress } from "../../../common/text.ts";
import { errorCode, errorReason } from "../../../common/errors.ts";

export interface Counters {
  connections: number;
  received: number;
  echoed: number; // by connections that have closed, less what never reached their peer
  written: number; // echo handed to the kernel, counted as it is taken: only grows
  refused: Record<RefusalReason, number>;
  idleTimeouts: number;
  // The two histograms of connections served (not refused), observed when each closes.
  durationBuckets: number[];
  durationMicros: number; // whole microseconds: every counter stays an integer
  bytesBuckets: number[];
  bytesSum: number;
}

export function noCounters(): Counters {
  const f = noFigures();
  return {
    connections: 0,
    received: 0,
    echoed: 0,
    written: 0,
    refused: f.refused,
    idleTimeouts: 0,
    durationBuckets: f.durationBuckets,
    durationMicros: 0,
    bytesBuckets: f.bytesBuckets,
    bytesSum: 0,
  };
}

/** A served connection has closed: into both histograms. */
export function connectionClosed(counted: Counters, seconds: number, received: number): void {
  observe(counted.durationBuckets, DURATION_BUCKETS, seconds);
  counted.durationMicros += Math.round(seconds * 1e6);
  observe(counted.bytesBuckets, BYTES_BUCKETS, received);
  counted.bytesSum += received;
}

/** This process's CPU, memory and descriptors, taken now. */
export function processFigures(f: Figures = noFigures()): Figures {
  const cpu = process.cpuUsage();
  f.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  f.residentBytes = process.memoryUsage.rss();
  try {
    f.openFds = readdirSync("/proc/self/fd").length - 1; // less the one that reads the directory
  } catch {
    f.openFds = NaN;
  }
  return f;
}

/** This process's figures (with --workers, the parent adds up everyone's). */
export function figuresOf(
  connections: Set<Socket<Conn>>,
  counted: Counters,
  datagrams?: DatagramStats,
): Figures {
  const f = noFigures();
  for (const socket of connections) {
    const c = socket.data;
    if (c.paused) f.connectionsPaused++;
  }
  // Refused at --max-connections before they were given a number: accepted all the same.
  f.connectionsTotal = counted.connections + counted.refused.max_connections;
  f.connectionsOpen = connections.size;
  f.bytesReceived = counted.received;
  // A counter never goes back: echo handed to the kernel stays counted, even when its peer
  // never reads it (the log's "bytes echoed" leaves that out, and says so).
  f.bytesEchoed = counted.written;
  f.refused = { ...counted.refused };
  f.idleTimeouts = counted.idleTimeouts;
  f.durationBuckets = [...counted.durationBuckets];
  f.durationSum = counted.durationMicros / 1e6;
  f.bytesBuckets = [...counted.bytesBuckets];
  f.bytesSum = counted.bytesSum;
  if (datagrams) {
    f.datagramBytesReceived = datagrams.received;
    f.datagrams = datagrams.datagrams;
    f.datagramBytesEchoed = datagrams.bytes;
    f.datagramsDropped = datagrams.dropped;
    f.datagramsUnreachable = datagrams.unreachable;
    f.datagramsRefused = datagrams.refused;
  }
  return f;
}

/** The live page's rows: the first connections, in the state diagram's words. */
export function liveStateOf(
  connections: Set<Socket<Conn>>,
  f: Figures,
  peerOf: (socket: Socket<Conn>) => string,
): LiveState {
  const rows: LiveRow[] = [];
  const at = performance.now();
  for (const socket of connections) {
    if (rows.length >= SHOWN) break;
    const c = socket.data;
    const state = c.waitingTurn
      ? "waiting"
      : c.peerEnded
        ? "half-closed"
        : c.paused
          ? "paused"
          : "echoing";
    const [echoed, age] = [c.received - held(c), (at - c.openedAt) / 1000];
    rows.push({
      id: c.id,
      peer: c.proxy?.client ?? peerOf(socket),
      state,
      in: c.received,
      out: echoed,
      age,
    });
  }
  const { connectionsOpen: open, connectionsTotal: connections_, bytesReceived, bytesEchoed } = f;
  return { rows, open, connections: connections_, received: bytesReceived, echoed: bytesEchoed };
}

interface SidePortParts {
  ready: () => boolean;
  metrics: () => Promise<string> | string;
  /** The live page, for a process that holds the connections themselves. */
  live?: () => LiveState;
}

/**
 * --http-port: /healthz, /readyz, /metrics, and the live page where this process can show it.
 * Says where it listens, or why it cannot (then returns false: the entry point exits 1). With a
 * live page, --trace's events also go to the page while someone watches (`say.trace` is tapped).
 */
export function startSidePort(
  settings: { httpHost: string; httpPort?: number },
  { say, t }: Voice,
  parts: SidePortParts,
): { view?: LiveView } | false {
  const { httpHost: host, httpPort: port } = settings;
  if (port === undefined) return {};
  const started = startEndpoint({ host, port, t, say, ...parts });
  if ("error" in started) {
    say.error("httpFailed", { host, port, error: started.code }, started.error);
    return false;
  }
  if (started.view) say.trace = started.view.tap(say.trace);
  return started;
}

interface EndpointOptions extends SidePortParts {
  host: string;
  port: number;
  t: Messages;
  say: Say;
}

/**
 * Starts the --http-port listener and says where; returns the live view if there is one (its
 * trace hook records events while someone watches), or the line to exit 1 with.
 */
function startEndpoint(o: EndpointOptions): { view?: LiveView } | { error: string; code: string } {
  const { t, say } = o;
  try {
    let http: ReturnType<typeof serveEndpoint> | undefined;
    const view = o.live && new LiveView(o.live, (json) => http?.publish(json));
    const page = livePage(t, t === catalogs.pt ? "pt" : "en");
    // A full side port is said at once, then once a second with how many more, however many knock.
    const fields = { max: HTTP_CONNECTIONS };
    const full = () =>
      say.burst(
        "http_full",
        () => say.warn("httpFull", fields, () => t.httpFull(HTTP_CONNECTIONS, 1)),
        (count) =>
          say.warn("httpFull", { ...fields, count }, () => t.httpFull(HTTP_CONNECTIONS, count)),
      );
    http = serveEndpoint(o.host, o.port, {
      ready: o.ready,
      metrics: o.metrics,
      full,
      live: view && { page, view },
    });
    const [host, port] = [o.host, http.port ?? o.port];
    const address = formatAddress(host, port);
    say.event("http", { host, port }, () => t.httpListening(address, view !== undefined), "always");
    return { view };
  } catch (error) {
    const code = errorCode(error);
    // Bun.listen says only "Failed to listen at HOST", with no code, for a name that does not
    // resolve as for an address that is not here.
    const named = !/^[\d.]+$/.test(o.host) && !o.host.includes(":");
    const address = formatAddress(o.host, o.port);
    if (code === "EADDRINUSE") return { error: t.httpPortInUse(address), code: "in_use" };
    const reason = code === "EACCES" || !named ? errorReason(t, error) : t.unresolved(o.host);
    const why = code === "EACCES" ? "denied" : named ? "host_not_found" : (code ?? "unknown");
    return { error: t.httpFailed(address, reason), code: why };
  }
}
