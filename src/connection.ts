/** What the server keeps for each connection, on `socket.data`. */
import { Outbox } from "./outbox.ts";
import type { ProxyHeaderReader } from "./proxy-protocol.ts";

export interface Conn {
  id: number;
  openedAt: number;
  received: number;
  outbox: Outbox; // echo bytes the kernel has not taken yet
  peerEnded: boolean; // the peer half-closed: close once its echo is out
  paused: boolean; // not reading: the outbox reached --max-buffer
  waitingTurn: boolean; // sequential: connected, waiting for its turn (not read, not timed out)
  seen: number; // the coarse clock at the last sign of life (a byte either way)
  /** Echo was handed to the kernel since the kernel's queue was last seen empty. */
  unconfirmed: boolean;
  kernelQueue?: number; // the kernel's send queue when last looked at
  undelivered: number; // echo lost because the server itself closed the connection
  failure?: Failure; // why the server itself ended the connection
  /** --proxy-protocol: reading the header, and how long we wait for it. */
  proxy?: ProxyHeaderReader;
  proxyTimer?: ReturnType<typeof setTimeout>;
  /** Bytes that came with the PROXY header while the connection waits its turn (sequential). */
  early?: Buffer[];
  /** --proxy-protocol: the client the balancer's header names. */
  client?: string;
  /** --hexdump: where in each direction's stream the next piece starts. */
  dumpedIn?: number;
  dumpedOut?: number;
  /** Closed without being served (a bad PROXY header): its close is not logged again. */
  refused?: boolean;
}

/** Why the server itself ended a connection: a code for the JSON log, the words for a person. */
export interface Failure {
  reason: string; // idle_timeout, drain_idle, not_served, lost, not_tls, tls_handshake, reset...
  error?: string; // the system's or the library's own code, when there is one
  text: string;
}

export function newConn(id: number, now: number): Conn {
  return {
    id,
    openedAt: performance.now(),
    received: 0,
    outbox: new Outbox(),
    peerEnded: false,
    paused: false,
    waitingTurn: false,
    seen: now,
    unconfirmed: false,
    kernelQueue: 0, // nothing written yet: a first look must not count as a change
    undelivered: 0,
  };
}
