/**
 * `--http-port`: what a load balancer and a monitoring system ask of a backend, on a port of its
 * own (Bun.serve), never on the echo port.
 *
 *   GET /healthz   200 while the process runs
 *   GET /readyz    200 while it accepts connections; 503 once a stop signal came (so the
 *                  balancer sends new clients elsewhere while these drain), while full
 *                  (--max-connections) or, in mode once, once its one client has come
 *   GET /metrics   Prometheus text, format 0.0.4
 *   GET /          the live page (src/live-page.ts), updated over a WebSocket at /live
 *
 * Anything else is 404, any method but GET and HEAD is 405, and no request can reach the echo.
 * At most LIVE_WATCHERS pages watch at once (503 beyond): each holds a descriptor for as long as
 * it stays, and the echo service counts on its own (see HTTP_DESCRIPTORS).
 */
import type { Server } from "bun";
import type { LiveView } from "./live.ts";

export interface Endpoint {
  /** GET /: the live page, and its WebSocket at /live (src/live.ts). */
  live?: { page: string; view: LiveView };
  ready: () => boolean;
  metrics: () => Promise<string> | string;
}

/** Pages that may watch /live at once: a classroom's worth. */
export const LIVE_WATCHERS = 64;

/**
 * Descriptors the endpoint may hold at once, kept back from the echo service's share of
 * `ulimit -n`: the watching pages, and requests (a health check, a scrape) that come and go
 * within the idle timeout.
 */
export const HTTP_DESCRIPTORS = LIVE_WATCHERS + 32;

/**
 * The path of a request. HAProxy's default health check is `GET /readyz HTTP/1.0` with no Host
 * header, and Bun then gives `req.url` as "/readyz", not an absolute URL: take both forms.
 */
export function pathOf(url: string): string {
  const path = url.startsWith("/") ? url : (/^[a-z]+:\/\/[^/]*(\/[^?#]*)?/i.exec(url)?.[1] ?? "/");
  return path.split(/[?#]/)[0]!;
}

export function serveEndpoint(hostname: string, port: number, e: Endpoint): Server<undefined> {
  const server: Server<undefined> = Bun.serve({
    hostname,
    port,
    // A health check asks and goes: a connection that sits idle is let go soon, so that idle
    // HTTP clients cannot hold the descriptors the echo service counts on.
    idleTimeout: 5,
    websocket: {
      open(ws) {
        ws.subscribe("live");
        ws.send(e.live!.view.joined());
      },
      close(ws) {
        ws.unsubscribe("live");
        e.live!.view.left();
      },
      message() {}, // read-only: what a page says is ignored
    },
    async fetch(req, server) {
      if (req.method !== "GET" && req.method !== "HEAD")
        return new Response("method not allowed\n", {
          status: 405,
          headers: { allow: "GET, HEAD" },
        });
      switch (pathOf(req.url)) {
        case "/":
          if (e.live) return text(e.live.page, 200, "text/html; charset=utf-8");
          return text("not found\n", 404);
        case "/live":
          if (!e.live) return text("not found\n", 404);
          if (server.pendingWebSockets >= LIVE_WATCHERS)
            return text(`too many pages watching (at most ${LIVE_WATCHERS}); try later\n`, 503);
          if (server.upgrade(req, { data: undefined })) return undefined;
          return text("not found\n", 404);
        case "/healthz":
          return text("ok\n");
        case "/readyz":
          return e.ready() ? text("ready\n") : text("not ready\n", 503);
        case "/metrics":
          return text(await e.metrics(), 200, "text/plain; version=0.0.4; charset=utf-8");
        default:
          return text("not found\n", 404);
      }
    },
    error: () => text("internal error\n", 500),
  });
  return server;
}

const text = (body: string, status = 200, type = "text/plain; charset=utf-8") =>
  new Response(body, { status, headers: { "content-type": type } });
