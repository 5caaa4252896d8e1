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
 * (tests/server/units.test.ts would catch a runtime that reuses it). Except small ones: each
 * kept chunk costs a few hundred bytes beside its own (its object, its backing store, its slot),
 * so a peer sending one byte per segment would make --max-buffer hold 200 times itself. Chunks under
 * SMALL_CHUNK are copied into a shared tail buffer instead; the memory held stays near its bytes.
 */

/** Below this, a kept chunk is copied into the tail: its overhead would be over ~5% of it. */
const SMALL_CHUNK = 4096;
/** The tail grows by doubling up to this, then a new one starts. */
const TAIL_MAX = 64 * 1024;
const TAIL_MIN = 256;

/** What the outbox writes to: a Bun socket, or anything with the same `write`. */
export interface ByteSink {
  write(data: Uint8Array): number;
}

export class Outbox {
  // Allocated on first short write only: most connections never need it.
  private chunks: Uint8Array[] | undefined;
  // Where small chunks are copied: the last of `chunks` is a view of it while it has room.
  private tail: Uint8Array | undefined;
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
      this.hold(chunk, written);
      return false;
    }
    this.keep(chunk);
    return false;
  }

  /** Keeps what a write of `chunk`, straight to the socket, did not take (`written`: its result). */
  hold(chunk: Uint8Array, written: number): void {
    this.broken ||= written < 0;
    this.keep(written > 0 ? chunk.subarray(written) : chunk);
  }

  /** Writes as much of the queue as the kernel takes. Returns true when the queue is empty. */
  flush(sink: ByteSink): boolean {
    const chunks = this.chunks;
    if (chunks === undefined) return true;
    for (let chunk = chunks[0]; chunk !== undefined; chunk = chunks[0]) {
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
    this.chunks = this.tail = undefined;
    this.bytes = 0;
    return dropped;
  }

  private keep(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    const chunks = (this.chunks ??= []);
    if (chunk.length < SMALL_CHUNK) return this.append(chunks, chunk);
    // A few bytes left of a 512 KiB read would pin the whole read buffer while the peer is slow:
    // copy a remainder that is less than half its buffer (only on short writes, never per chunk).
    if (chunk.length < chunk.buffer.byteLength / 2) chunk = chunk.slice();
    chunks.push(chunk);
  }

  /** Copies a small chunk to the end of the tail, which grows (or starts anew) to take it. */
  private append(chunks: Uint8Array[], chunk: Uint8Array): void {
    const n = chunk.length;
    const last = chunks.at(-1);
    const tail = this.tail;
    // The tail is still open while it is the last chunk (nothing larger was queued behind it).
    if (tail !== undefined && last !== undefined && last.buffer === tail.buffer) {
      const end = last.byteOffset + last.length;
      if (end + n <= tail.length) {
        tail.set(chunk, end);
        chunks[chunks.length - 1] = tail.subarray(last.byteOffset, end + n);
        return;
      }
      if (last.length + n <= TAIL_MAX) {
        // What is still unwritten moves to a buffer twice as large: amortised, few copies.
        const grown = new Uint8Array(
          Math.min(TAIL_MAX, Math.max(2 * last.length, last.length + n)),
        );
        grown.set(last);
        grown.set(chunk, last.length);
        this.tail = grown;
        chunks[chunks.length - 1] = grown.subarray(0, last.length + n);
        return;
      }
    }
    const fresh = new Uint8Array(Math.max(TAIL_MIN, n)); // grown only if more come
    fresh.set(chunk);
    this.tail = fresh;
    chunks.push(fresh.subarray(0, n));
  }
}
