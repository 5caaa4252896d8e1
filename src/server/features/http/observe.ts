/**
 * What the server counts of itself beyond its log: the figures behind GET /metrics and the rows
 * of the live page (side-port.ts serves them).
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
import { SHOWN, type LiveRow, type LiveState } from "./live.ts";

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
