/**
 * Collects the echo of one message. TCP may deliver it in any number of pieces, so the client
 * waits until as many bytes as it sent have come back, however they were cut.
 */
export class EchoTimeout extends Error {}

export class EchoWaiter {
  private parts: Uint8Array[] = [];
  private have = 0;
  private want = 0;
  private timeoutMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private settle: ((echo: Uint8Array) => void) | undefined;
  private fail: ((error: Error) => void) | undefined;

  /** The part of the awaited echo that has come so far. */
  sofar(): Uint8Array {
    return concat(this.parts, this.have);
  }

  /** Bytes of the awaited echo so far. */
  get received(): number {
    return this.have;
  }

  /** Waits for `size` bytes; fails when no byte arrives for `timeoutMs` (0: never fails). */
  expect(size: number, timeoutMs: number): Promise<Uint8Array> {
    this.parts = [];
    this.have = 0;
    this.want = size;
    this.timeoutMs = timeoutMs;
    this.arm();
    return new Promise((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
  }

  /**
   * Takes bytes from the socket. Returns how many of them belong to no awaited echo (a server
   * that sent more than it was sent, or spoke first).
   */
  push(chunk: Uint8Array): number {
    const room = this.want - this.have;
    if (room <= 0) return chunk.length;
    const mine = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.parts.push(mine);
    this.have += mine.length;
    if (this.have < this.want) {
      this.arm();
      return 0;
    }
    clearTimeout(this.timer);
    this.want = 0;
    this.settle?.(concat(this.parts, this.have));
    return chunk.length - mine.length;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.timeoutMs <= 0) return;
    this.timer = setTimeout(() => {
      this.want = 0;
      this.fail?.(new EchoTimeout());
    }, this.timeoutMs);
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const [only] = parts;
  if (only !== undefined && parts.length === 1) return only; // one piece: no copy
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
