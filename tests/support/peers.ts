/** Bytes and peers: random payloads, digests, a client socket that waits for its echo. */
import { expect } from "bun:test";
import { createHash } from "node:crypto";
import { connect as netConnect, type Socket as NetSocket } from "node:net";
import type { Server } from "./servers.ts";

export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

export function sha256(data: Uint8Array | Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of Array.isArray(data) ? data : [data]) hash.update(part);
  return hash.digest("hex");
}

/**
 * A peer built on node:net (an independent implementation with its own buffering), so that a
 * bug in the project's write queue cannot hide itself in the test's client too.
 */
export class Peer {
  readonly socket: NetSocket;
  readonly received: Uint8Array[] = [];
  bytes = 0;
  readonly connected: Promise<void>;
  /** Resolves when the server ends the stream (FIN) or the socket closes. */
  readonly ended: Promise<void>;
  private waiters: { size: number; resolve: () => void }[] = [];

  constructor(port: number, host = "127.0.0.1", readNow = true) {
    this.socket = netConnect({ port, host, allowHalfOpen: true });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("error", () => {});
    this.socket.on("data", (chunk: Buffer) => {
      this.received.push(chunk);
      this.bytes += chunk.length;
      this.waiters = this.waiters.filter((w) =>
        this.bytes >= w.size ? (w.resolve(), false) : true,
      );
    });
    this.ended = new Promise((resolve) => {
      this.socket.once("end", () => resolve());
      this.socket.once("close", () => resolve());
    });
    if (!readNow) this.socket.pause();
  }

  /** Resolves once `size` bytes in all have come back. */
  until(size: number): Promise<void> {
    if (this.bytes >= size) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ size, resolve }));
  }

  /** Writes everything, waiting for the kernel to take it (node:net's own backpressure). */
  async send(data: Uint8Array, piece = 1 << 20): Promise<void> {
    for (let at = 0; at < data.length; at += piece) {
      if (!this.socket.write(data.subarray(at, at + piece))) {
        await new Promise((resolve) => this.socket.once("drain", resolve));
      }
    }
  }

  /** Half-close: no more bytes from us, but we keep reading. */
  finish(): void {
    this.socket.end();
  }

  text(): string {
    return Buffer.concat(this.received).toString("utf8");
  }

  all(): Uint8Array {
    return Buffer.concat(this.received);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `text` and waits for its echo; returns all the peer has received so far, as text. */
export async function roundTrip(peer: Peer, text: string): Promise<string> {
  const data = new TextEncoder().encode(text);
  const before = peer.bytes;
  await peer.send(data);
  await peer.until(before + data.length);
  return peer.text();
}

/** Sends `data` on a new connection (in pieces of `piece` bytes), half-closes, returns the echo. */
export async function echoOf(port: number, data: Uint8Array, piece?: number): Promise<Uint8Array> {
  const peer = new Peer(port);
  await peer.send(data, piece);
  peer.finish();
  await peer.ended;
  return peer.all();
}

/** A well-behaved client: sends `size` random bytes, half-closes, checks the whole echo. */
export async function goodClient(server: Server, size = 256 * 1024): Promise<void> {
  const payload = randomBytes(size);
  expect(sha256(await echoOf(server.port, payload, 16 * 1024))).toBe(sha256(payload));
}

/** A new connection, once the server has logged it (`#id connected`). */
export async function connectedPeer(server: Server, id = 1): Promise<Peer> {
  const peer = new Peer(server.port);
  await peer.connected;
  await server.out.waitFor(new RegExp(`^#${id} connected`));
  return peer;
}
