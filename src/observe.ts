/**
 * What the server shows about itself beyond its log: the figures behind GET /metrics, the rows of
 * the live page, and the --http-port listener that serves them (src/http-endpoint.ts).
 */
import type { Socket } from "bun";
import type { Conn } from "./connection.ts";
import type { DatagramStats } from "./datagrams.ts";
import { type Figures, noFigures, type RefusalReason } from "./metrics.ts";
import { LiveView, SHOWN, type LiveRow, type LiveState } from "./live.ts";
import { livePage } from "./live-page.ts";
import { serveEndpoint } from "./http-endpoint.ts";
import { catalogs, type Messages } from "./messages/index.ts";
import type { Say } from "./say.ts";
import { formatAddress } from "./text.ts";
import { errorCode, errorReason } from "./errors.ts";

export interface Counters {
  connections: number;
  received: number;
  echoed: number; // by connections that have closed, less what never reached their peer
  written: number; // echo handed to the kernel, counted as it is taken: only grows
  refused: Record<RefusalReason, number>;
  idleTimeouts: number;
}

export function noCounters(): Counters {
  return {
    connections: 0,
    received: 0,
    echoed: 0,
    written: 0,
    refused: noFigures().refused,
    idleTimeouts: 0,
  };
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
  f.connectionsTotal = counted.connections;
  f.connectionsOpen = connections.size;
  f.bytesReceived = counted.received;
  // A counter never goes back: echo handed to the kernel stays counted, even when its peer
  // never reads it (the log's "bytes echoed" leaves that out, and says so).
  f.bytesEchoed = counted.written;
  f.refused = { ...counted.refused };
  f.idleTimeouts = counted.idleTimeouts;
  if (datagrams) {
    f.datagrams = datagrams.datagrams;
    f.datagramBytesEchoed = datagrams.bytes;
    f.datagramsDropped = datagrams.dropped;
    f.datagramsUnreachable = datagrams.unreachable;
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
    const [echoed, age] = [c.received - c.outbox.bytes, (at - c.openedAt) / 1000];
    rows.push({
      id: c.id,
      peer: c.client ?? peerOf(socket),
      state,
      in: c.received,
      out: echoed,
      age,
    });
  }
  const { connectionsOpen: open, connectionsTotal: connections_, bytesReceived, bytesEchoed } = f;
  return { rows, open, connections: connections_, received: bytesReceived, echoed: bytesEchoed };
}

export interface EndpointOptions {
  host: string;
  port: number;
  t: Messages;
  say: Say;
  ready: () => boolean;
  metrics: () => Promise<string> | string;
  /** /readyz has said 503: stop phase 0 may end. */
  toldNotReady: () => void;
  /** The live page, for a process that holds the connections themselves. */
  live?: () => LiveState;
}

/**
 * Starts the --http-port listener and says where; returns the live view if there is one (its
 * trace hook records events while someone watches), or the line to exit 1 with.
 */
export function startEndpoint(o: EndpointOptions): { view?: LiveView } | { error: string } {
  const { t, say } = o;
  try {
    let http: ReturnType<typeof serveEndpoint> | undefined;
    const view = o.live && new LiveView(o.live, (json) => http?.publish("live", json));
    const page = livePage(t, t === catalogs.pt ? "pt" : "en");
    http = serveEndpoint(o.host, o.port, {
      ready: o.ready,
      metrics: o.metrics,
      toldNotReady: o.toldNotReady,
      live: view && { page, view },
    });
    const address = formatAddress(o.host, http.port ?? o.port);
    say.event("http", { address }, () => t.httpListening(address, view !== undefined), "always");
    return { view };
  } catch (error) {
    const code = errorCode(error);
    // A name that does not resolve makes Bun.serve fail with odd codes (ENOTTY, seen in 1.4.5).
    const named = !/^[\d.]+$/.test(o.host) && !o.host.includes(":");
    const reason =
      code === "EADDRINUSE" || code === "EACCES" || !named
        ? errorReason(t, error)
        : t.unresolved(o.host);
    return { error: t.httpFailed(formatAddress(o.host, o.port), reason) };
  }
}
