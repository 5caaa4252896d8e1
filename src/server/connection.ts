/** What the server keeps for each connection, on `socket.data`. */
import type { Outbox } from "../common/outbox.ts";
import type { ProxyHeaderReader } from "./features/proxy-protocol.ts";
import type { Shaper } from "./features/shaping.ts";

/**
 * Only what every connection needs is set at open: each field costs every idle connection
 * (bench idle). The rest is added by the one that needs it, and only then.
 */
export interface Conn {
  id: number;
  openedAt: number;
  received: number;
  seen: number; // the coarse clock at the last sign of life (a byte either way)
  /** Echo was handed to the kernel since the kernel's queue was last seen empty. */
  unconfirmed: boolean;
  /** Echo bytes the kernel has not taken yet: made at the first short write. */
  outbox?: Outbox;
  peerEnded?: boolean; // the peer half-closed: close once its echo is out
  paused?: boolean; // not reading: the outbox reached --max-buffer
  waitingTurn?: boolean; // sequential: connected, waiting for its turn (not read, not timed out)
  kernelQueue?: number; // the kernel's send queue when last looked at (none yet: 0)
  undelivered?: number; // echo lost because the server itself closed the connection
  failure?: Failure; // why the server itself ended the connection
  /** --proxy-protocol: the header's state, from open until the client is known. */
  proxy?: ProxyState;
  /** --slice, --delay...: the pace of its echo (features/shaping.ts). */
  shaper?: Shaper;
  /** --hexdump: where in each direction's stream the next piece starts. */
  dumped?: { in: number; out: number };
  /** Closed without being served (a bad PROXY header): its close is not logged again. */
  refused?: boolean;
}

/** --proxy-protocol, per connection. */
interface ProxyState {
  /** Reading the header (until it is whole), and how long we wait for it. */
  reader?: ProxyHeaderReader;
  timer?: ReturnType<typeof setTimeout>;
  /** Bytes that came with the header while the connection waits its turn (sequential). */
  early?: Buffer[];
  /** The client the balancer's header names. */
  client?: string;
}

/** Why the server itself ended a connection: a code for the JSON log, the words for a person. */
export interface Failure {
  reason: string; // idle_timeout, drain_idle, not_served, lost, not_tls, tls_handshake, reset...
  error?: string; // the system's or the library's own code, when there is one
  text: string;
}

export function newConn(id: number, now: number): Conn {
  return { id, openedAt: performance.now(), received: 0, seen: now, unconfirmed: false };
}

/** Echo bytes still held for the peer. */
export function held(c: Conn): number {
  return c.outbox?.bytes ?? 0;
}
