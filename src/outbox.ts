/**
 * The bytes `socket.write()` did not take yet, kept in order.
 *
 * Bun's `write()` does not buffer: it returns how many bytes the kernel accepted (0 when its
 * buffers are full, -1 once the socket is closed) and forgets the rest. After a -1 Bun may never
 * call `close` by itself (seen in 1.4.5 after a reset during a drain): `broken` tells the caller
 * to end the socket. Whatever it did not take
 * is ours to keep and resend on `drain`; callers pause reading while `empty` is false, so the
 * queue never holds more than what was read before the pause took effect.
 *
 * Chunks are queued as they came, not copied: Bun gives every `data` callback a fresh buffer
 * (tests/units.test.ts would catch a runtime that reuses it).
 */

/** What the outbox writes to: a Bun socket, or anything with the same `write`. */
export interface ByteSink {
  write(data: Uint8Array): number;
}

export class Outbox {
  // Allocated on first short write only: most connections never need it.
  private chunks: Uint8Array[] | undefined;
  /** Bytes waiting to be written. */
  bytes = 0;
  /** A write returned -1: the socket is gone, nothing more will be taken. */
  broken = false;

  get empty(): boolean {
    return this.bytes === 0;
  }

  /**
   * Writes `chunk` now if nothing is waiting, else queues it behind what is.
   * Returns true when everything, including earlier bytes, has been handed to the kernel.
   */
  send(sink: ByteSink, chunk: Uint8Array): boolean {
    if (this.bytes === 0) {
      const written = sink.write(chunk);
      if (written === chunk.length) return true;
      this.broken ||= written < 0;
      this.keep(written > 0 ? chunk.subarray(written) : chunk);
      return false;
    }
    this.keep(chunk);
    return false;
  }

  /** Writes as much of the queue as the kernel takes. Returns true when the queue is empty. */
  flush(sink: ByteSink): boolean {
    const chunks = this.chunks;
    while (chunks !== undefined && chunks.length > 0) {
      const chunk = chunks[0]!;
      const written = sink.write(chunk);
      if (written < 0) this.broken = true;
      if (written <= 0) return false;
      this.bytes -= written;
      if (written < chunk.length) {
        chunks[0] = chunk.subarray(written);
        return false;
      }
      chunks.shift();
    }
    return true;
  }

  /** Drops what is queued (the connection is gone); returns how many bytes were dropped. */
  clear(): number {
    const dropped = this.bytes;
    this.chunks = undefined;
    this.bytes = 0;
    return dropped;
  }

  private keep(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    // A few bytes left of a 512 KiB read would pin the whole read buffer while the peer is slow:
    // copy a remainder that is less than half its buffer (only on short writes, never per chunk).
    if (chunk.length < chunk.buffer.byteLength / 2) chunk = chunk.slice();
    (this.chunks ??= []).push(chunk);
    this.bytes += chunk.length;
  }
}
