/**
 * `--http-port`: what a load balancer and a monitoring system ask of a backend, on a port of its
 * own, never on the echo port.
 *
 *   GET /healthz   200 while the process runs
 *   GET /readyz    200 while it accepts connections; 503 once a stop signal came (so the
 *                  balancer sends new clients elsewhere while these drain), while full
 *                  (--max-connections) or, in mode once, once its one client has come
 *   GET /metrics   Prometheus text, format 0.0.4
 *   GET /          the live page (src/server/features/http/live-page.ts), updated over a WebSocket at /live
 *
 * Anything else is 404, any method but GET and HEAD is 405, and no request can reach the echo.
 *
 * Why not Bun.serve: its connections cannot be counted nor capped (measured on 1.4.5: a
 * connection that never sends a request is not closed by closeIdleConnections(), and idleTimeout 5
 * let one live 11 s), so 250 keep-alive clients took the descriptors the echo service counts on
 * and accept() spun on EMFILE. Here every connection on the side port is one descriptor that we
 * count: at most HTTP_CONNECTIONS at once, one request each, answered with `connection: close`,
 * and whole within REQUEST_MS. When they are all taken, the oldest that has not sent its request
 * whole (or was answered and stays) is closed to let the newcomer in: 95 slowloris clients would
 * otherwise fail every health check, and a balancer or the kubelet would take the server out
 * (a 503 and a close only when all are pages or answers being written). The WebSocket of the
 * live page only speaks: a close is returned, anything else a page sends ends it at once, and a
 * page that does not read its snapshots is dropped rather than queued for.
 */
import type { Socket, TCPSocketListener } from "bun";
import { createHash } from "node:crypto";
import type { LiveView } from "./live.ts";

export interface Endpoint {
  /** GET /: the live page, and its WebSocket at /live (src/server/features/http/live.ts). */
  live?: { page: string; view: LiveView };
  ready: () => boolean;
  metrics: () => Promise<string> | string;
  /** A connection was turned away: HTTP_CONNECTIONS were open, none of them to close. */
  full?: () => void;
  /** An old connection was closed to let a new one in: HTTP_CONNECTIONS were open. */
  evicted?: () => void;
}

/** Pages that may watch /live at once: a classroom's worth. */
export const LIVE_WATCHERS = 64;

/**
 * Descriptors the endpoint may hold at once, kept back from the echo service's share of
 * `ulimit -n`: the watching pages, and requests (a health check, a scrape) that come and go.
 */
export const HTTP_DESCRIPTORS = LIVE_WATCHERS + 32;

/** Connections on the side port at once, pages included: one descriptor is kept to refuse with. */
export const HTTP_CONNECTIONS = HTTP_DESCRIPTORS - 1;

/** A request must come whole within this; an answered one is closed within this too. */
export const REQUEST_MS = 5000;
/** Request line and headers: a health check or a browser needs far less. */
const HEAD_LIMIT = 8192;
/** Pieces a head may come in: a browser, curl or a balancer sends it in one or two. */
const HEAD_PIECES = 64;

/**
 * The path of a request. HAProxy's default health check is `GET /readyz HTTP/1.0` with no Host
 * header, and gives an origin-form target ("/readyz"); a proxy may send an absolute URL: take both.
 */
function pathOf(url: string): string {
  const path = url.startsWith("/") ? url : (/^[a-z]+:\/\/[^/]*(\/[^?#]*)?/i.exec(url)?.[1] ?? "/");
  const [bare = ""] = path.split(/[?#]/);
  return bare;
}

/**
 * A WebSocket handshake from a page of another site is refused: it could read the live snapshot
 * and take the slots. A browser always sends Origin; same origin means the host it names is the
 * one the request was sent to (what the page's own script does). No Origin: not a browser page.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  const named = /^https?:\/\/([^/]+)$/i.exec(origin)?.[1];
  return named !== undefined && host !== undefined && named.toLowerCase() === host.toLowerCase();
}

interface EndpointServer {
  port: number;
  /** Sends a snapshot to every watching page. */
  publish(json: string): void;
  /** Side-port connections open now (pages included). */
  readonly open: number;
  /** Stops listening and closes every connection. */
  stop(): void;
}

interface Side {
  head: string[]; // the request so far, as latin1, in the pieces it came in
  size: number; // their length
  tail: string; // its last 3 characters: the end of the head may begin there
  timer?: ReturnType<typeof setTimeout>;
  pending?: Uint8Array; // what write() did not take yet
  then?: "shutdown"; // once pending is written
  page?: boolean; // a live page, not yet told goodbye
  watching?: boolean; // joined the live view: leaves it when it closes
  done?: boolean; // its request is whole: what comes next is ignored
  finished?: boolean; // our side has said all it will: may be closed to make room
  refused?: boolean; // over HTTP_CONNECTIONS: never counted
  closed?: boolean;
}

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  403: "Forbidden",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};
const encoder = new TextEncoder();

export function serveEndpoint(hostname: string, port: number, e: Endpoint): EndpointServer {
  const side = new HttpConnections(e);
  const listener: TCPSocketListener<Side> = Bun.listen<Side>({
    hostname,
    port,
    socket: side.handler(),
  });
  return {
    port: listener.port,
    get open() {
      return side.open;
    },
    stop: () => listener.stop(true),
    publish: (json) => side.publish(json),
  };
}

/** The side port's connections: each request read and answered, each live page fed. */
class HttpConnections {
  open = 0;
  private readonly pages = new Set<Socket<Side>>();
  /** Every counted connection, oldest first: where room is made when the port is full. */
  private readonly held = new Set<Socket<Side>>();

  constructor(private readonly e: Endpoint) {}

  handler(): Bun.SocketHandler<Side> {
    return {
      binaryType: "uint8array",
      open: (s) => this.opened(s),
      data: (s, chunk: Uint8Array) => this.received(s, chunk),
      drain(s) {
        const d = s.data;
        if (!d.pending) return;
        const rest = d.pending;
        d.pending = undefined;
        put(s, rest);
        if (!d.pending && d.then === "shutdown") s.shutdown();
      },
      close: (s) => this.closed(s),
      error() {},
    };
  }

  /** Sends a snapshot to every watching page. */
  publish(json: string): void {
    const bytes = frame(0x1, encoder.encode(json));
    for (const s of this.pages) {
      // Still holding the last snapshot: the page does not read. Drop it rather than queue.
      if (s.data.pending) this.goodbye(s, 1008);
      else put(s, bytes);
    }
  }

  private opened(s: Socket<Side>): void {
    if (this.open >= HTTP_CONNECTIONS) {
      const oldest = this.spare();
      if (oldest === undefined) {
        s.data = { head: [], size: 0, tail: "", done: true, refused: true };
        s.write(BUSY);
        s.end();
        return this.e.full?.();
      }
      // A request half-sent for seconds is rarer than a health check: the newcomer gets its slot.
      // end() is close(2): the descriptor is free now, as the echo service was promised.
      if (!oldest.data.done) oldest.write(BUSY);
      oldest.end();
      this.closed(oldest);
      this.e.evicted?.();
    }
    this.open++;
    s.data = { head: [], size: 0, tail: "" };
    this.held.add(s);
    s.data.timer = setTimeout(() => s.end(), REQUEST_MS); // whole within this, or gone
  }

  /**
   * The connection to close for a newcomer: the oldest still sending its request, else the
   * oldest that has had its whole answer; never a page, nor a request being answered.
   */
  private spare(): Socket<Side> | undefined {
    let answered: Socket<Side> | undefined;
    for (const s of this.held) {
      if (!s.data.done) return s;
      if (s.data.finished && !s.data.pending) answered ??= s;
    }
    return answered;
  }

  /** A page's frames; otherwise the request's head, until it is whole. */
  private received(s: Socket<Side>, chunk: Uint8Array): void {
    const d = s.data;
    if (d.page) return this.fromPage(s, chunk);
    if (d.done) return;
    // Never more kept than a whole head may take, however large the pieces that come; and only
    // the new bytes searched (with the 3 before them), never the whole head again and again.
    const text = latin1.decode(chunk.subarray(0, HEAD_LIMIT + 4 - d.size));
    const window = d.tail + text;
    const found = /\r?\n\r?\n/.exec(window);
    const end = found && d.size - d.tail.length + found.index;
    d.head.push(text);
    d.size += text.length;
    d.tail = window.slice(-3);
    if ((end ?? d.size) > HEAD_LIMIT) return answer(s, 431, "request too large\n", false);
    if (end === null && d.head.length >= HEAD_PIECES) {
      // A byte-at-a-time drip: each piece costs a read and a call however little is done with
      // it (90 such clients took 70% of a core). Answered, and not one more byte of it is read.
      answer(s, 400, "request sent in too many pieces\n", false);
      return void s.pause();
    }
    if (end === null) return;
    d.done = true;
    const head = d.head.join("").slice(0, end);
    d.head = [];
    void this.request(s, head).catch(() => s.end());
  }

  private closed(s: Socket<Side>): void {
    const d = s.data;
    if (d === undefined || d.refused || d.closed) return;
    this.open--;
    d.closed = true;
    clearTimeout(d.timer);
    this.held.delete(s);
    this.pages.delete(s);
    if (d.watching) this.e.live?.view.left();
  }

  private async request(s: Socket<Side>, text: string): Promise<void> {
    const parsed = parseHead(text);
    if (parsed === undefined) return answer(s, 400, "bad request\n", false);
    const { method, target, headers } = parsed;
    const head = method === "HEAD";
    if (method !== "GET" && !head)
      return answer(s, 405, "method not allowed\n", false, { allow: "GET, HEAD" });
    const e = this.e;
    switch (pathOf(target)) {
      case "/":
        if (e.live) return answer(s, 200, e.live.page, head, { "content-type": HTML });
        return answer(s, 404, "not found\n", head);
      case "/live":
        return this.upgrade(s, headers, head);
      case "/healthz":
        return answer(s, 200, "ok\n", head);
      case "/readyz":
        return e.ready() ? answer(s, 200, "ready\n", head) : answer(s, 503, "not ready\n", head);
      case "/metrics": {
        let body: string;
        try {
          body = await e.metrics();
        } catch {
          return answer(s, 500, "internal error\n", head);
        }
        return answer(s, 200, body, head, { "content-type": PROMETHEUS });
      }
      default:
        return answer(s, 404, "not found\n", head);
    }
  }

  private upgrade(s: Socket<Side>, h: Map<string, string>, head: boolean): void {
    const live = this.e.live;
    if (!live) return answer(s, 404, "not found\n", head);
    const key = h.get("sec-websocket-key") ?? "";
    if (
      head ||
      !/\bwebsocket\b/i.test(h.get("upgrade") ?? "") ||
      h.get("sec-websocket-version") !== "13" ||
      !/^[A-Za-z0-9+/]{22}==$/.test(key)
    )
      return answer(s, 400, "a WebSocket handshake was expected\n", head);
    if (!sameOrigin(h.get("origin"), h.get("host")))
      return answer(s, 403, "this page is watched from its own origin only\n", false);
    if (this.pages.size >= LIVE_WATCHERS)
      return answer(
        s,
        503,
        `too many pages watching (at most ${LIVE_WATCHERS}); try later\n`,
        false,
      );
    const accept = createHash("sha1")
      .update(key + WS_GUID)
      .digest("base64");
    put(
      s,
      encoder.encode(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
          `sec-websocket-accept: ${accept}\r\n\r\n`,
      ),
    );
    clearTimeout(s.data.timer);
    s.data.page = true;
    s.data.watching = true;
    this.pages.add(s);
    put(s, frame(0x1, encoder.encode(live.view.joined())));
  }

  /**
   * What a page sent: the page has nothing to say (our own page never pings, and a browser
   * answers our pings itself: we send none), so its first frame ends it: a close is returned,
   * anything else (a ping, a pong, a message or a piece of one) is a policy violation. Only its
   * first byte is read: a flood of pings answered one by one cost the echo half a second and more
   * per round trip.
   */
  private fromPage(s: Socket<Side>, chunk: Uint8Array): void {
    this.goodbye(s, (chunk[0]! & 0x0f) === 0x8 ? 1000 : 1008);
  }

  private goodbye(s: Socket<Side>, code: number): void {
    this.pages.delete(s);
    s.data.page = undefined;
    put(s, frame(0x8, new Uint8Array([code >> 8, code & 0xff])));
    finish(s);
    // Nothing more it sends is read: a flooding peer meets the kernel's backpressure, not our
    // loop, until it closes or REQUEST_MS ends it. A polite close still hears the page's FIN.
    if (code !== 1000) s.pause();
  }
}

/** The request line and headers; undefined if either is not HTTP/1.x's. */
function parseHead(
  text: string,
): { method: string; target: string; headers: Map<string, string> } | undefined {
  const [first = "", ...rest] = text.split(/\r?\n/);
  const [, method, target] =
    /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/.exec(first) ?? [];
  if (method === undefined || target === undefined) return undefined;
  const headers = new Map<string, string>();
  for (const line of rest) {
    const colon = line.indexOf(":");
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) return undefined;
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { method, target, headers };
}

/** Writes what it can; the rest waits for drain. */
function put(s: Socket<Side>, bytes: Uint8Array): void {
  const d = s.data;
  if (d.closed) return;
  if (d.pending) {
    const joined = new Uint8Array(d.pending.length + bytes.length);
    joined.set(d.pending);
    joined.set(bytes, d.pending.length);
    d.pending = joined;
    return;
  }
  const n = s.write(bytes);
  if (n < 0) return void s.end();
  if (n < bytes.length) d.pending = bytes.subarray(n);
}

/**
 * Our FIN, after the answer: the peer reads it all and closes. shutdown(), not end(): end() is
 * close(2), and bytes of the peer's still unread would make it a reset that can lose the answer.
 */
function finish(s: Socket<Side>): void {
  s.data.done = true;
  s.data.finished = true;
  if (s.data.closed) return;
  if (s.data.pending) s.data.then = "shutdown";
  else s.shutdown();
  clearTimeout(s.data.timer);
  s.data.timer = setTimeout(() => s.end(), REQUEST_MS);
}

function answer(
  s: Socket<Side>,
  status: number,
  body: string,
  head: boolean,
  headers: Record<string, string> = {},
): void {
  const bytes = encoder.encode(body);
  const lines = [`HTTP/1.1 ${status} ${REASONS[status]}`];
  headers = { "content-type": "text/plain; charset=utf-8", ...headers };
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${bytes.length}`, "connection: close", "", "");
  put(s, encoder.encode(lines.join("\r\n")));
  if (!head) put(s, bytes);
  finish(s);
}

/** One unmasked WebSocket frame, as a server sends it. */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    new DataView(out.buffer).setUint16(2, n);
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head);
  return out;
}

const latin1 = new TextDecoder("latin1");
const HTML = "text/html; charset=utf-8";
const PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";
const BUSY_BODY = "too many connections on this port; try later\n";
const BUSY = encoder.encode(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n" +
    `content-length: ${BUSY_BODY.length}\r\nconnection: close\r\n\r\n${BUSY_BODY}`,
);
