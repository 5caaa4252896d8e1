/**
 * Two echo servers, each taking the other for a client, echo a forged datagram back and forth
 * forever, and a port cannot tell an echo server on an ordinary port from a client. What gives
 * it away is the bounce: bytes we echoed to a sender coming straight back from it.
 *
 * For each sender (a fixed table of SENDERS slots, whatever their number) the guard remembers
 * what it echoed lately (RECENT hashes, with when). A datagram that is one of them, back within
 * QUICK_MS, is a quick return. When most of a sender's last WINDOW datagrams were quick returns
 * (LOOPING of them), that sender is an echo looping with us: everything from it is refused for
 * QUARANTINE_MS, longer than any return of a fast loop, so every datagram in flight between us
 * dies, however many were forged. A client loses datagrams only if it sends back, again and
 * again, the very bytes of its echo within QUICK_MS of getting it.
 */
export const WINDOW = 64;
const LOOPING = 48;
export const QUICK_MS = 5;
export const QUARANTINE_MS = 100;
const SENDERS = 256;
const WAYS = 4; // hashes per set: a few that share a set do not push each other out
const SETS = 256; // per sender: RECENT = SETS * WAYS
const RECENT = SETS * WAYS;

interface Sender {
  address: string;
  port: number;
  hashes: Uint32Array;
  times: Float64Array;
  seen: number; // datagrams in this window
  quick: number; // quick returns among them
  refusedUntil: number;
}

export class LoopGuard {
  private readonly senders: (Sender | undefined)[] = new Array(SENDERS);

  /**
   * Is this datagram to be refused? If not, it is remembered as the echo about to go back to its
   * sender (sent now or queued: either way, what would come back).
   */
  refuses(data: Uint8Array, port: number, address: string, now = performance.now()): boolean {
    const s = this.senderOf(port, address);
    if (now < s.refusedUntil) return true;
    const hash = Bun.hash.crc32(data);
    const set = (hash % SETS) * WAYS;
    let [way, oldest] = [-1, set];
    for (let i = set; i < set + WAYS; i++) {
      if (s.hashes[i] === hash && s.times[i]! > -Infinity) way = i;
      if (s.times[i]! < s.times[oldest]!) oldest = i;
    }
    if (way >= 0 && now - s.times[way]! < QUICK_MS) s.quick++;
    if (++s.seen === WINDOW) {
      if (s.quick >= LOOPING) s.refusedUntil = now + QUARANTINE_MS;
      [s.seen, s.quick] = [0, 0];
      if (now < s.refusedUntil) return true;
    }
    const at = way >= 0 ? way : oldest;
    s.hashes[at] = hash;
    s.times[at] = now;
    return false;
  }

  private senderOf(port: number, address: string): Sender {
    const slot =
      (port * 31 + address.length * 7 + address.charCodeAt(address.length - 1)) % SENDERS;
    let s = this.senders[slot];
    if (s === undefined) {
      const [hashes, times] = [new Uint32Array(RECENT), new Float64Array(RECENT).fill(-Infinity)];
      s = { address, port, hashes, times, seen: 0, quick: 0, refusedUntil: -Infinity };
      this.senders[slot] = s;
    } else if (s.port !== port || s.address !== address) {
      // Another sender in this slot: it starts afresh (a loop needs the slot to itself).
      [s.address, s.port, s.seen, s.quick, s.refusedUntil] = [address, port, 0, 0, -Infinity];
      s.times.fill(-Infinity);
    }
    return s;
  }
}
