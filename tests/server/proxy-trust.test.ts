/**
 * Who may speak PROXY, over real sockets: a v2 LOCAL header (which any peer can send) follows
 * the mode's rules like every connection; a v1 header whose addresses are not canonical is
 * refused; `--proxy-from` closes connections from other sources, nothing echoed, counted.
 */
import { describe, expect } from "bun:test";
import { concurrently, Peer, roundTrip, run, startServer } from "../helpers.ts";
import { httpPortOf } from "../support/side-port.ts";

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
/** A v2 LOCAL header: no addresses (what a balancer's own check sends, and anyone can). */
const LOCAL = new Uint8Array([...SIG, 0x20, 0x00, 0x00, 0x00]);
const bytes = (text: string) => new TextEncoder().encode(text);
const v1 = (client: string, port = 40312) =>
  bytes(`PROXY TCP4 ${client} 127.0.0.1 ${port} 5000\r\n`);

/** One sample of GET /metrics, by its whole name with labels. */
async function metric(http: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return Number(line?.slice(name.length + 1));
}

describe("a PROXY v2 LOCAL header follows the mode's rules", () => {
  concurrently("mode sequential: a LOCAL connection waits its turn like any client", async () => {
    const server = await startServer(["--mode", "sequential", "--proxy-protocol"]);
    const first = new Peer(server.port);
    await first.send(v1("203.0.113.7"));
    expect(await roundTrip(first, "first\n")).toBe("first\n");
    const local = new Peer(server.port);
    await local.send(LOCAL);
    await local.send(bytes("jumped?\n"));
    await server.out.waitFor("#2 waiting: 1 client ahead");
    expect(local.bytes).toBe(0); // nothing echoed while the first is served
    first.finish();
    await local.until(8);
    expect(local.text()).toBe("jumped?\n");
    local.finish();
    await local.ended;
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  concurrently("mode once: a LOCAL connection is the one client; the next is refused", async () => {
    const server = await startServer(["--proxy-protocol"]);
    const local = new Peer(server.port);
    await local.send(LOCAL);
    expect(await roundTrip(local, "oi\n")).toBe("oi\n");
    await server.out.waitFor("no longer accepting connections");
    const next = new Peer(server.port);
    const refused = await next.connected.then(
      () => "connected",
      (error) => error.code,
    );
    expect(refused).toBe("ECONNREFUSED");
    local.finish();
    expect(await server.exited).toBe(0);
  });
});

describe("PROXY v1 addresses, strictly", () => {
  concurrently(
    "001.002.003.004 is refused over a real socket: nothing echoed, logged, counted",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--proxy-protocol", "--http-port", "0"],
      ]);
      const http = await httpPortOf(server);
      const peer = new Peer(server.port);
      peer.socket.write(v1("001.002.003.004")); // not awaited: the server resets it at once
      peer.socket.write(bytes("hello\n"));
      await peer.ended;
      expect(peer.bytes).toBe(0);
      await server.out.waitFor(
        /^#1 from 127\.0\.0\.1:\d+ closed: no valid PROXY header \(a malformed v1 header\); nothing echoed$/,
      );
      expect(await metric(http, 'echo_connections_refused_total{reason="proxy_header"}')).toBe(1);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );
});

describe("--proxy-from: only the balancers may send a header", () => {
  concurrently(
    "a source outside the list is closed, nothing echoed, logged, and counted as untrusted",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--proxy-protocol", "--http-port", "0"],
        ...["--proxy-from", "10.0.0.0/8,2001:db8::/32"],
      ]);
      const http = await httpPortOf(server);
      const peer = new Peer(server.port);
      peer.connected.catch(() => {}); // the server may reset it before connect() even returns
      // Not awaited: the server may close (RST) before these bytes are even sent.
      peer.socket.write(v1("203.0.113.7"));
      peer.socket.write(bytes("spoofed\n"));
      await peer.ended;
      expect(peer.bytes).toBe(0);
      await server.out.waitFor(
        /^#1 from 127\.0\.0\.1:\d+ closed: not a source --proxy-from trusts; nothing echoed$/,
      );
      expect(server.out.text).not.toContain("203.0.113.7");
      expect(await metric(http, 'echo_connections_refused_total{reason="untrusted"}')).toBe(1);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );

  concurrently("a source in the list is served, and the client it names logged", async () => {
    const server = await startServer([
      ...["--mode", "concurrent", "--proxy-protocol", "--proxy-from", "::1,127.0.0.0/8"],
    ]);
    const peer = new Peer(server.port);
    await peer.send(v1("203.0.113.7"));
    expect(await roundTrip(peer, "oi\n")).toBe("oi\n");
    await server.out.waitFor(/^#1 connected from 203\.0\.113\.7:40312 via 127\.0\.0\.1:\d+/);
    peer.finish();
    await peer.ended;
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  concurrently.each([
    [["--proxy-from", "10.0.0.0/8"], "--proxy-from only makes sense with --proxy-protocol"],
    [
      ["--proxy-protocol", "--proxy-from", "10.0.0.0/33"],
      '--proxy-from must be addresses or networks such as 10.0.0.0/8,::1, separated by commas, not "10.0.0.0/33"',
    ],
  ] as const)("%p is a usage error", async (args, message) => {
    const server = run("server.ts", [...args]);
    expect(await server.exited).toBe(2);
    expect(server.err.text).toContain(message);
  });
});
