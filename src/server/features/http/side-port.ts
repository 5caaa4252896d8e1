/**
 * --http-port as the server sees it: this process's figures (for /metrics and, with --workers,
 * the heartbeat its parent reads), the port started when asked, and the live page where this
 * process holds the connections itself.
 */
import type { Peers } from "../../peer.ts";
import type { ServerState, Voice } from "../../state.ts";
import type { DatagramStats } from "../udp.ts";
import { exposition, type Figures } from "./metrics.ts";
import { figuresOf, liveStateOf, processFigures } from "./observe.ts";
import { LiveView, type LiveState } from "./live.ts";
import { livePage } from "./live-page.ts";
import { HTTP_CONNECTIONS, serveEndpoint } from "./endpoint.ts";
import { catalogs, type Messages } from "../../../messages/index.ts";
import type { Say } from "../../../common/say.ts";
import { formatAddress } from "../../../common/text.ts";
import { errorCode, errorReason } from "../../../common/errors.ts";

export class SidePort {
  /** Seconds since the epoch at the start, for the metrics. */
  readonly startTime = Date.now() / 1000;
  private view?: LiveView;
  /** --udp: its counters, once it has a socket. */
  datagrams?: DatagramStats;

  constructor(
    private readonly settings: { httpHost: string; httpPort?: number },
    private readonly voice: Voice,
    private readonly state: ServerState,
    private readonly peer: Peers,
  ) {}

  /** This process's figures now (with --workers, the parent adds up everyone's). */
  figures = (): Figures =>
    processFigures(figuresOf(this.state.connections, this.state.stats, this.datagrams));

  /** GET /metrics: this process's figures in Prometheus's text format. */
  metrics = (): string => exposition(this.figures(), this.startTime, this.datagrams !== undefined);

  /** Someone has the live page open: connection events are worth telling. */
  watched = (): boolean => this.view?.watched ?? false;

  /**
   * Starts the port if --http-port asks for it; false once the reason it cannot has been said.
   * `live`: this process holds the connections, so it can show them.
   */
  serve(ready: () => boolean, metrics: () => Promise<string> | string, live = false): boolean {
    const { connections } = this.state;
    const rows = live ? () => liveStateOf(connections, this.figures(), this.peer.of) : undefined;
    const started = startSidePort(this.settings, this.voice, { ready, metrics, live: rows });
    if (started === false) return false;
    this.view = started.view;
    return true;
  }
}

interface SidePortParts {
  ready: () => boolean;
  metrics: () => Promise<string> | string;
  /** The live page, for a process that holds the connections themselves. */
  live?: () => LiveState;
}

/**
 * --http-port: /healthz, /readyz, /metrics, and the live page where this process can show it.
 * Says where it listens, or why it cannot (then returns false: the entry point exits 1). With a
 * live page, --trace's events also go to the page while someone watches (`say.trace` is tapped).
 */
function startSidePort(
  settings: { httpHost: string; httpPort?: number },
  { say, t }: Voice,
  parts: SidePortParts,
): { view?: LiveView } | false {
  const { httpHost: host, httpPort: port } = settings;
  if (port === undefined) return {};
  const started = startEndpoint({ host, port, t, say, ...parts });
  if ("error" in started) {
    say.error("httpFailed", { host, port, error: started.code }, started.error);
    return false;
  }
  if (started.view) say.trace = started.view.tap(say.trace);
  return started;
}

interface EndpointOptions extends SidePortParts {
  host: string;
  port: number;
  t: Messages;
  say: Say;
}

/**
 * Starts the --http-port listener and says where; returns the live view if there is one (its
 * trace hook records events while someone watches), or the line to exit 1 with.
 */
function startEndpoint(o: EndpointOptions): { view?: LiveView } | { error: string; code: string } {
  const { t, say } = o;
  try {
    let http: ReturnType<typeof serveEndpoint> | undefined;
    const view = o.live && new LiveView(o.live, (json) => http?.publish(json));
    const page = livePage(t, t === catalogs.pt ? "pt" : "en");
    // A full side port is said at once, then once a second with how many more, however many knock.
    const fields = { max: HTTP_CONNECTIONS };
    const full = () =>
      say.burst(
        "http_full",
        () => say.warn("httpFull", fields, () => t.httpFull(HTTP_CONNECTIONS, 1)),
        (count) =>
          say.warn("httpFull", { ...fields, count }, () => t.httpFull(HTTP_CONNECTIONS, count)),
      );
    // Slots taken back from slow or silent clients: said the same way, so an attack shows.
    const evicted = () =>
      say.burst(
        "http_evicted",
        () => say.warn("httpEvicted", fields, () => t.httpEvicted(HTTP_CONNECTIONS, 1)),
        (count) =>
          say.warn("httpEvicted", { ...fields, count }, () =>
            t.httpEvicted(HTTP_CONNECTIONS, count),
          ),
      );
    http = serveEndpoint(o.host, o.port, {
      ready: o.ready,
      metrics: o.metrics,
      full,
      evicted,
      live: view && { page, view },
    });
    const [host, port] = [o.host, http.port ?? o.port];
    const address = formatAddress(host, port);
    say.event("http", { host, port }, () => t.httpListening(address, view !== undefined), "always");
    return { view };
  } catch (error) {
    const code = errorCode(error);
    // Bun.listen says only "Failed to listen at HOST", with no code, for a name that does not
    // resolve as for an address that is not here.
    const named = !/^[\d.]+$/.test(o.host) && !o.host.includes(":");
    const address = formatAddress(o.host, o.port);
    if (code === "EADDRINUSE") return { error: t.httpPortInUse(address), code: "in_use" };
    const reason = code === "EACCES" || !named ? errorReason(t, error) : t.unresolved(o.host);
    const why = code === "EACCES" ? "denied" : named ? "host_not_found" : (code ?? "unknown");
    return { error: t.httpFailed(address, reason), code: why };
  }
}
