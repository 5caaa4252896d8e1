/**
 * --proxy-protocol: behind a load balancer, the PROXY header names the client (its reader is
 * proxy-protocol.ts). A stage: it holds each connection from open until its header is whole,
 * then lets the mode admit it; a bad header, a silent or an untrusted peer is refused.
 */
import type { Socket } from "bun";
import type { Messages } from "../../messages/index.ts";
import { type Cidr, within } from "../../common/addresses.ts";
import { formatAddress } from "../../common/text.ts";
import type { Conn } from "../connection.ts";
import type { Peers } from "../peer.ts";
import type { Stage } from "../stages.ts";
import type { ServerState, Voice } from "../state.ts";
import type { Mode } from "../../cli/values.ts";
import { ProxyHeaderReader } from "./proxy-protocol.ts";

const PROXY_HEADER_MS = 3000; // a balancer sends it at once; a client that does not, never will
const EMPTY = Buffer.alloc(0);

export function proxyHeader(
  { mode, proxyFrom }: { mode: Mode; proxyFrom?: readonly Cidr[] },
  state: ServerState,
  { say, t }: Voice,
  peer: Peers,
  admit: (socket: Socket<Conn>) => void,
): Stage {
  function awaitProxyHeader(socket: Socket<Conn>): void {
    const c = socket.data;
    // --proxy-from: a header names the client we log, so only the balancers may send one.
    if (proxyFrom !== undefined && !within(socket.remoteAddress, proxyFrom))
      return refuseUntrusted(socket);
    const timer = setTimeout(() => refuseProxy(socket, "timeout"), PROXY_HEADER_MS);
    c.proxy = { reader: new ProxyHeaderReader(), timer };
    say.trace(c.id, "open", peer.of(socket, say.json));
  }

  /** Feeds the header reader; returns the bytes after the header (none until it is complete). */
  function proxyHeaderOf(socket: Socket<Conn>, chunk: Buffer): Buffer {
    const proxy = socket.data.proxy;
    const c = socket.data;
    if (proxy?.reader === undefined) return chunk;
    const result = proxy.reader.push(chunk);
    if (result.state === "more") return EMPTY;
    if (result.state === "invalid") {
      refuseProxy(socket, result.problem);
      return EMPTY;
    }
    proxy.reader = undefined;
    clearTimeout(proxy.timer);
    const { header } = result;
    const balancer = peer.of(socket);
    const client = header.source && formatAddress(header.source.address, header.source.port);
    proxy.client = client;
    say.trace(c.id, "proxy", `v${header.version}`, header.command, client ?? "");
    const balancerAt = peer.fields(socket);
    const fields = {
      id: c.id,
      ip: header.source?.address,
      port: header.source?.port,
      balancer_ip: balancerAt.ip,
      balancer_port: balancerAt.port,
      proxy: header.version,
      command: header.command,
    };
    if (header.command === "LOCAL")
      say.event("open", fields, () => t.proxyLocal(c.id, balancer, header.version));
    else if (client === undefined)
      say.event("open", fields, () => t.proxyUnknown(c.id, balancer, header.version));
    else say.event("open", fields, () => t.viaProxy(c.id, client, balancer, header.version));
    // A LOCAL header is the balancer's own check, but anyone can send one: the mode's rules (a
    // turn in the queue, mode once's one client) apply to it as to every connection.
    admit(socket);
    if (mode === "once" && state.current !== socket) return EMPTY; // refused: not the one client
    const rest = Buffer.from(result.rest.buffer, result.rest.byteOffset, result.rest.length);
    if (!c.waitingTurn || rest.length === 0) return rest;
    proxy.early = [rest];
    return EMPTY;
  }

  function refuseProxy(socket: Socket<Conn>, problem: keyof Messages["proxyProblem"]): void {
    const c = socket.data;
    if (c.proxy?.reader === undefined) return;
    c.proxy.reader = undefined;
    c.refused = true;
    state.stats.refused.proxy_header++;
    // A flood of bad headers is one line, then one a second with how many more (per problem).
    const fields = { id: c.id, ...peer.fields(socket), reason: "proxy_header", problem };
    const text = () => t.proxyRefused(c.id, peer.of(socket), t.proxyProblem[problem]);
    const more = (count: number) => () => t.proxyRefusedMore(count, t.proxyProblem[problem]);
    say.burst(
      `proxy_header ${problem}`,
      () => say.event("refused", fields, text, "warn"),
      (count) =>
        say.event("refusedMore", { reason: "proxy_header", problem, count }, more(count), "warn"),
    );
    socket.terminate(); // nothing of it is echoed
  }

  function refuseUntrusted(socket: Socket<Conn>): void {
    const c = socket.data;
    c.refused = true;
    state.stats.refused.untrusted++;
    const fields = { id: c.id, ...peer.fields(socket), reason: "untrusted" };
    say.burst(
      "untrusted",
      () => say.event("refused", fields, () => t.untrustedRefused(c.id, peer.of(socket)), "warn"),
      (count) =>
        say.event(
          "refusedMore",
          { reason: "untrusted", count },
          () => t.untrustedMore(count),
          "warn",
        ),
    );
    socket.terminate(); // nothing of it is read or echoed
  }

  return {
    open(socket) {
      awaitProxyHeader(socket);
      return true; // admitted once its header is read
    },
    data: proxyHeaderOf,
    end(socket) {
      if (!socket.data.proxy?.reader) return false;
      refuseProxy(socket, "incomplete"); // gone before its header
      return true;
    },
    close(socket) {
      if (socket.data.proxy) clearTimeout(socket.data.proxy.timer);
    },
  };
}
