/**
 * The client's side of `--udp`: one line, one datagram. UDP may lose a datagram, deliver it
 * twice, or late; so a message whose echo has not come back is sent again (after 0.5 s, then 1 s,
 * 2 s...: --retries times), and an echo is taken once: a copy that comes later is recognised
 * and not printed again. The socket is connected, so the kernel passes on datagrams from the
 * server's address only, and reports ICMP "port unreachable" (nobody listening) as ECONNREFUSED.
 */
import type { udp } from "bun";
import { errorCode } from "../common/errors.ts";
import type { Trace } from "../common/trace.ts";

const FIRST_RESEND_MS = 500;
const LONGEST_RESEND_MS = 4000; // doubling stops here: --retries 20 waits about a minute, not days

export class Unreachable extends Error {}
export class NoEcho extends Error {
  constructor(readonly tries: number) {
    super(`no echo after ${tries} tries`);
  }
}

interface Waiting {
  sent: Uint8Array;
  /** A datagram that came back different; shown only if the exact echo does not come. */
  differing?: Uint8Array;
  resolve: (echo: Uint8Array) => void;
  reject: (e: Error) => void;
}

export class DatagramConversation {
  private waiting: Waiting | undefined;
  private answered: Uint8Array[] = []; // messages already echoed: late copies are ignored
  private socket!: udp.ConnectedSocket<"uint8array">;
  /** Datagrams that were no echo of ours (a copy that came late, say), counted, not shown. */
  duplicates = 0;

  constructor(
    private readonly retries: number,
    private readonly trace: Trace,
  ) {}

  async connect(hostname: string, port: number): Promise<void> {
    this.socket = await Bun.udpSocket({
      binaryType: "uint8array",
      // Bound to the server's family: a socket bound for IPv4 cannot send to ::1 (EAFNOSUPPORT).
      hostname: hostname.includes(":") ? "::" : "0.0.0.0",
      connect: { hostname, port },
      socket: {
        data: (_socket, data) => this.received(data),
        // Bun 1.4.5 passes the error first (its type definitions say the socket).
        error: (...args: unknown[]) => this.failed(args.find((a) => a instanceof Error)),
      },
    });
  }

  /** Sends one message; resolves with its echo, or rejects with Unreachable or NoEcho. */
  exchange(sent: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let tries = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const attempt = () => {
        const w = this.waiting;
        if (w?.differing) return this.answer(w, w.differing); // no exact echo came: show this one
        if (tries > this.retries) {
          this.waiting = undefined;
          return reject(new NoEcho(tries));
        }
        tries++;
        this.trace(0, tries === 1 ? "send" : "resend", `${sent.length} bytes`);
        try {
          this.socket.send(sent);
        } catch (error) {
          return this.failed(error);
        }
        timer = setTimeout(
          attempt,
          Math.min(LONGEST_RESEND_MS, FIRST_RESEND_MS * 2 ** (tries - 1)),
        );
      };
      this.waiting = {
        sent,
        resolve: (echo) => {
          clearTimeout(timer);
          resolve(echo);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      attempt();
    });
  }

  close(): void {
    this.socket.close();
  }

  private received(data: Uint8Array): void {
    const w = this.waiting;
    this.trace(0, "datagram", data.length);
    if (this.answered.some((a) => Buffer.from(a).equals(data)) && !(w && same(w.sent, data))) {
      this.duplicates++; // a copy of an echo already shown
      return;
    }
    if (w === undefined) {
      this.duplicates++;
      return;
    }
    if (!same(w.sent, data)) {
      // Not our bytes: a stray datagram, or the server changed them. The exact echo may be right
      // behind it; it is taken only if nothing better comes before the next resend.
      w.differing ??= data;
      return;
    }
    this.answer(w, data);
  }

  private answer(w: Waiting, data: Uint8Array): void {
    this.waiting = undefined;
    this.answered.push(w.sent);
    if (this.answered.length > 16) this.answered.shift();
    w.resolve(data); // the caller compares it with what was sent
  }

  private failed(error: unknown): void {
    this.trace(0, "error", errorCode(error) ?? String(error));
    if (errorCode(error) !== "ECONNREFUSED") return;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(new Unreachable());
  }
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);
