/**
 * The --http-port side port under attack: every connection on it is counted and capped, so it
 * can never take the descriptors the echo service announced; the live page's WebSocket only
 * speaks, to pages of its own origin. And how it says that its port is taken or wrong.
 */
import { describe, expect } from "bun:test";
import { connect as netConnect, type Socket as NetSocket } from "node:net";
import { cpuSeconds, listeningAddress } from "../support/processes.ts";
import {
  HTTP_CONNECTIONS,
  LIVE_WATCHERS,
  sameOrigin,
} from "../../src/server/features/http/endpoint.ts";
import {
  BUN,
  concurrently,
  freePort,
  Peer,
  roundTrip,
  run,
  runCommand,
  startServer,
  until,
} from "../helpers.ts";
import { httpPortOf } from "../support/side-port.ts";

/** A raw TCP client on the side port, keeping everything it is sent. */
function rawClient(port: number, request?: string) {
  const socket: NetSocket = netConnect({ port, host: "127.0.0.1" });
  const got: Buffer[] = [];
  socket.on("error", () => {});
  socket.on("data", (d: Buffer) => got.push(d));
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  if (request !== undefined) void connected.then(() => socket.write(request));
  return { socket, connected, closed, text: () => Buffer.concat(got).toString("latin1") };
}

async function cpuOver1s(pid: number): Promise<number> {
  const before = cpuSeconds(pid);
  await Bun.sleep(1000); // a rate needs a span of time; the assertion is on CPU, not on time
  return cpuSeconds(pid) - before;
}

describe("every connection on the side port is capped", () => {
  concurrently(
    "ulimit -n 256: keep-alive and silent HTTP clients cannot take the echo's descriptors",
    async () => {
      const server = runCommand([
        "bash",
        "-c",
        `ulimit -n 256 && exec "${BUN}" server.ts --port 0 --http-port 0 --mode concurrent --quiet`,
      ]);
      const { port } = await listeningAddress(server.out);
      const http = await httpPortOf(server);
      const allowed = Number(/at most (\d+) connections/.exec(server.err.all[0]!)![1]);
      // 150 keep-alive clients that ask once and would stay, then 150 that never say anything:
      // far more than the side port's share of the descriptors.
      const keepAlive = Array.from({ length: 150 }, () =>
        rawClient(http, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      // Each was answered (200, or 503 while too many asked at once) and closed after it.
      await Promise.all(keepAlive.map((c) => c.closed));
      for (const c of keepAlive)
        expect(c.text()).toMatch(/^HTTP\/1\.1 (200|503) [^]*connection: close/i);
      expect(keepAlive.filter((c) => c.text().startsWith("HTTP/1.1 200")).length).toBeGreaterThan(
        0,
      );
      const silent = Array.from({ length: 150 }, () => rawClient(http));
      await Promise.all(silent.map((c) => c.connected));
      // Beyond the cap, the oldest silent ones are told 503 and closed to let the newest in.
      await until(
        () =>
          silent.filter((c) => c.text().startsWith("HTTP/1.1 503")).length >=
          150 - HTTP_CONNECTIONS,
      );
      // (Fewer may be held if the server had not yet seen every keep-alive client leave.)
      expect(silent.filter((c) => c.text() === "").length).toBeLessThanOrEqual(HTTP_CONNECTIONS);
      await server.err.waitFor(
        /^warning: the health and metrics port has 95 connections open, its limit/,
      );
      // Every echo client up to the announced limit is served, without a spin on accept().
      const peers = Array.from({ length: allowed }, () => new Peer(port));
      const served = await Promise.all(peers.map((p) => roundTrip(p, "ok\n").catch(() => "")));
      expect(served.filter((echo) => echo === "ok\n").length).toBe(allowed);
      expect(await cpuOver1s(server.proc.pid)).toBeLessThan(0.5);
      for (const p of peers) p.close();
      for (const c of [...keepAlive, ...silent]) c.socket.destroy();
    },
  );

  concurrently(
    "95 requests held half-sent (a slowloris): the oldest makes room, health checks pass",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
      const http = await httpPortOf(server);
      const held: ReturnType<typeof rawClient>[] = [];
      for (let i = 0; i <= HTTP_CONNECTIONS; i++) {
        const c = rawClient(http, "GET /healthz HTTP/1.1\r\n");
        await c.connected;
        held.push(c);
      }
      // One more than the port holds: the server has seen them all once someone is told 503.
      await until(() => held.some((c) => c.text().startsWith("HTTP/1.1 503")));
      expect(await (await fetch(`http://127.0.0.1:${http}/healthz`)).text()).toBe("ok\n");
      expect((await fetch(`http://127.0.0.1:${http}/readyz`)).status).toBe(200);
      // The one closed for the newcomer was the oldest, and the warning says so.
      await held[0]!.closed;
      expect(held[0]!.text()).toStartWith("HTTP/1.1 503");
      await server.err.waitFor(/^warning: [^]*its limit: closed the oldest/);
      for (const c of held) c.socket.destroy();
    },
  );

  concurrently("a request that never ends is cut off; one too large is refused", async () => {
    const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
    const http = await httpPortOf(server);
    const big = rawClient(http, `GET /healthz HTTP/1.1\r\nX: ${"a".repeat(10_000)}\r\n\r\n`);
    await big.closed;
    expect(big.text()).toStartWith("HTTP/1.1 431");
    // Silent past REQUEST_MS: closed, without a word.
    const silent = rawClient(http);
    await silent.closed;
    expect(silent.text()).toBe("");
    // A head dripped a byte at a time is answered 400 within a few dozen pieces, not read to
    // its end: each piece costs the server a read and a call.
    const drip = rawClient(http, "GET /healthz HTTP/1.1\r\nX: ");
    drip.socket.setNoDelay(true);
    await drip.connected;
    for (let i = 0; i < 4000 && drip.text() === "" && !drip.socket.destroyed; i++)
      await new Promise((sent) => drip.socket.write("a", sent));
    await drip.closed;
    expect(drip.text()).toStartWith("HTTP/1.1 400");
    // Pipelined: one request per connection, answered, then the connection closes.
    const two = rawClient(http, "GET /healthz HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n");
    await two.closed;
    expect(two.text().match(/HTTP\/1\.1/g)).toHaveLength(1);
  });
});

describe("the live page's WebSocket only speaks, to its own origin", () => {
  concurrently(
    "a page of another origin is refused; the server's own page is welcome",
    async () => {
      expect(sameOrigin(undefined, "127.0.0.1:9001")).toBe(true); // not a browser
      expect(sameOrigin("http://127.0.0.1:9001", "127.0.0.1:9001")).toBe(true);
      expect(sameOrigin("http://evil.example", "127.0.0.1:9001")).toBe(false);
      expect(sameOrigin("http://127.0.0.1:9001.evil.example", "127.0.0.1:9001")).toBe(false);
      expect(sameOrigin("null", "127.0.0.1:9001")).toBe(false);

      const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
      const http = await httpPortOf(server);
      const outcome = (origin: string) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${http}/live`, {
            headers: { Origin: origin },
          } as unknown as string[]);
          ws.onmessage = (m) => (
            resolve(JSON.parse(String(m.data)).rows ? "snapshot" : "?"),
            ws.close()
          );
          ws.onerror = () => resolve("refused");
        });
      expect(await outcome("http://evil.example")).toBe("refused");
      expect(await outcome(`http://127.0.0.1:${http}`)).toBe("snapshot");
      // The handshake of RFC 6455's own example, byte for byte.
      const raw = rawClient(
        http,
        "GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      await until(() => raw.text().includes("\r\n\r\n"));
      expect(raw.text()).toContain("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
      raw.socket.destroy();
    },
  );

  concurrently(
    "a page that sends anything (a fragment that never ends, say) is closed: nothing is kept",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
      const http = await httpPortOf(server);
      const pages = Array.from({ length: LIVE_WATCHERS }, () => {
        const page = rawClient(
          http,
          "GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        return page;
      });
      await until(() => pages.every((p) => p.text().includes("\r\n\r\n")));
      // A binary frame without FIN announcing 15 MB, of which 64 KiB come: the start of a
      // fragmented message that never ends.
      const header = Buffer.from([0x02, 0x80 | 127, 0, 0, 0, 0, 0, 0xe4, 0xe1, 0xc0, 1, 2, 3, 4]);
      for (const p of pages) p.socket.write(Buffer.concat([header, Buffer.alloc(65536)]));
      await Promise.all(pages.map((p) => p.closed));
      // Closed with 1008 (policy violation), in a close frame after the snapshots.
      for (const p of pages) expect(p.text()).toContain("\x88\x02\x03\xf0");
      // And the slots are free again.
      const again = rawClient(
        http,
        "GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      await until(() => again.text().includes("\r\n\r\n"));
      expect(again.text()).toStartWith("HTTP/1.1 101");
      again.socket.destroy();
    },
  );
});

/** The opcodes of the frames a server sent after its 101 answer. */
function opcodes(text: string): number[] {
  const bytes = Buffer.from(text.slice(text.indexOf("\r\n\r\n") + 4), "latin1");
  const out: number[] = [];
  for (let i = 0; i + 1 < bytes.length;) {
    const length = bytes[i + 1]! & 0x7f;
    const head = length === 126 ? 4 : length === 127 ? 10 : 2;
    const size = length === 126 ? bytes.readUInt16BE(i + 2) : length === 127 ? 0 : length;
    out.push(bytes[i]! & 0x0f);
    i += head + size;
  }
  return out;
}

describe("a page that pings or pongs", () => {
  concurrently.each([
    ["ping", 0x89],
    ["pong", 0x8a],
  ])("a %s is not answered: the WebSocket is closed (1008) at once", async (_, opcode) => {
    const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
    const http = await httpPortOf(server);
    const page = rawClient(
      http,
      "GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await until(() => opcodes(page.text()).includes(0x1)); // the first snapshot
    page.socket.write(Buffer.from([opcode, 0x80 | 4, 1, 2, 3, 4, 0x71, 0x6b, 0x6d, 0x63]));
    await until(() => opcodes(page.text()).some((o) => o === 0x8 || o === 0xa));
    expect(opcodes(page.text())).not.toContain(0xa);
    expect(page.text()).toEndWith("\x88\x02\x03\xf0");
    page.socket.destroy();
  });
});

describe("its port, said in our words", () => {
  concurrently.each([["en"], ["pt"]])(
    "the health port in use: one line (%s), exit 1",
    async (lang) => {
      const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      const server = run("server.ts", [
        "--port",
        "0",
        "--http-port",
        String(taken.port),
        "--lang",
        lang,
      ]);
      expect(await server.exited).toBe(1);
      taken.stop(true);
      expect(server.err.all).toEqual([
        lang === "en"
          ? `error: cannot serve health and metrics on 127.0.0.1:${taken.port}: the port is already in use; is another server running? Choose another with --http-port (or --http-port 0 for any free one)`
          : `erro: não foi possível servir saúde e métricas em 127.0.0.1:${taken.port}: a porta já está em uso; há outro servidor rodando? Escolha outra com --http-port (ou --http-port 0 para qualquer uma livre)`,
      ]);
    },
  );

  concurrently(
    "--http-port equal to --port is a usage error (not with 0, --unix or --udp)",
    async () => {
      const port = freePort();
      const same = run("server.ts", ["--port", String(port), "--http-port", String(port)]);
      expect(await same.exited).toBe(2);
      expect(same.err.text).toContain(`--http-port cannot be the echo port (--port ${port})`);
      const udp = run("server.ts", ["--udp", "--port", String(port), "--http-port", String(port)]);
      await udp.out.waitFor(/^listening on/);
      udp.proc.kill("SIGTERM");
      expect(await udp.exited).toBe(0);
      const zero = await startServer(["--http-port", "0"]);
      await zero.out.waitFor(/^health and metrics on/);
      zero.proc.kill("SIGTERM");
    },
  );
});
