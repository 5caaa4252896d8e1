/**
 * Behind a real load balancer: PROXY headers from clients and from HAProxy, /healthz, /readyz
 * and /metrics (read with a real Prometheus parser), JSON logs, --drain-timeout, and a rolling
 * restart of two backends under HAProxy with not one session lost.
 */
import { afterAll, describe, expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as netConnect } from "node:net";
import {
  BUN,
  concurrently,
  childrenOf,
  until,
  freePort,
  Peer,
  randomBytes,
  run,
  runCommand,
  sha256,
  startServer,
  type Child,
} from "../helpers.ts";
import { haveParser, httpPortOf, scrape } from "../support/side-port.ts";

const dir = mkdtempSync(join(tmpdir(), "echo-balancer-"));
/** One client session through `port`: `rounds` verified round trips, then close. */
async function session(port: number, rounds: number): Promise<number> {
  const peer = new Peer(port);
  await peer.connected;
  const localPort = peer.socket.localPort!;
  let expected = 0;
  // A session the server closes before its echo is a failure to report, not a wait forever.
  const closed = peer.ended.then(() => {
    throw new Error(`session from ${localPort}: closed after ${peer.bytes} of ${expected} bytes`);
  });
  closed.catch(() => {});
  for (let i = 0; i < rounds; i++) {
    const message = randomBytes(64);
    await peer.send(message);
    expected += message.length;
    await Promise.race([peer.until(expected), closed]);
    const got = peer.all().subarray(expected - 64, expected);
    if (sha256(got) !== sha256(message)) throw new Error(`session from ${localPort}: changed echo`);
  }
  peer.close();
  return localPort;
}

// Debian puts it in /usr/sbin, which a non-root PATH may lack.
const HAPROXY = Bun.which("haproxy") ?? Bun.which("haproxy", { PATH: "/usr/sbin:/sbin" });

// First: the longest test of the file (two restarts, each waiting out --stop-delay 1).
// At the file's level: an afterAll inside the describe would keep its test from running beside
// the others.
const backends: Child[] = [];
afterAll(() => backends.forEach((b) => b.proc.kill("SIGKILL")));

describe.skipIf(HAPROXY === null)("behind HAProxy", () => {
  /** One backend: the echo server behind the balancer, with PROXY v2 and its health port. */
  async function backend(port: number, http: number): Promise<Child> {
    const server = runCommand([
      BUN,
      "server.ts",
      ...["--port", String(port), "--mode", "concurrent", "--proxy-protocol"],
      ...["--http-port", String(http), "--stop-delay", "1"],
    ]);
    backends.push(server);
    await server.out.waitFor(/^listening on/);
    return server;
  }

  concurrently(
    "a rolling restart of both backends under load: every session completes, exact",
    async () => {
      const [front, a, b, ha, hb] = [freePort(), freePort(), freePort(), freePort(), freePort()];
      // What each setting is for:
      // - check port + option httpchk GET /readyz: a backend told to stop answers 503 and the
      //   balancer stops sending it clients (fall 1) before it closes its port;
      // - inter 100ms: that news travels in a tenth of a second (--stop-delay 1 keeps the port
      //   open ten times as long);
      // - retries 3 + option redispatch: a connection refused by a backend that has just closed
      //   is tried again on the other one, before the client notices;
      // - rise 2: a restarted backend gets clients once it has answered twice.
      const config = `
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 1s
  timeout client 20s
  timeout server 20s
  retries 3
  option redispatch
listen echo
  bind 127.0.0.1:${front}
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 100ms fall 1 rise 2 send-proxy-v2
  server a 127.0.0.1:${a} check port ${ha}
  server b 127.0.0.1:${b} check port ${hb}
`;
      const cfg = join(dir, "haproxy.cfg");
      writeFileSync(cfg, config);
      const servers = { a: await backend(a, ha), b: await backend(b, hb) };
      const haproxy = runCommand([HAPROXY!, "-f", cfg, "-db"]);
      // Ready when a session goes through (HAProxy prints nothing when it starts).
      for (let i = 0; ; i++) {
        const ok = await session(front, 1).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (i > 100) throw new Error(`HAProxy never came up:\n${haproxy.err.text}`);
        await Bun.sleep(50); // retrying a start-up probe, bounded
      }

      let stop = false;
      const failures: string[] = [];
      const clientPorts = new Set<number>();
      let sessions = 0;
      const loop = async () => {
        while (!stop) {
          try {
            clientPorts.add(await session(front, 50));
            sessions++;
          } catch (error) {
            failures.push(String(error));
          }
        }
      };
      const loops = Array.from({ length: 6 }, loop);

      for (const name of ["a", "b"] as const) {
        const [port, http] = name === "a" ? [a, ha] : [b, hb];
        const old = servers[name];
        const before = sessions;
        old.proc.kill("SIGTERM");
        expect(await old.exited).toBe(0);
        servers[name] = await backend(port, http);
        // Back in service when the balancer sends it a client again.
        await servers[name].out.waitFor(/connected from 127\.0\.0\.1:\d+ via /);
        expect(sessions).toBeGreaterThan(before); // clients kept being served meanwhile
      }
      const after = sessions;
      while (sessions < after + 20) await Bun.sleep(20); // a little more traffic on both, bounded by the test timeout
      stop = true;
      await Promise.all(loops);

      expect(failures).toEqual([]);
      expect(sessions).toBeGreaterThan(40);
      // The backends log the clients' own addresses (the ports our sessions used), not HAProxy's.
      const logged = [...servers.a.out.all, ...servers.b.out.all]
        .map((line) => /connected from 127\.0\.0\.1:(\d+) via/.exec(line)?.[1])
        .filter((p) => p !== undefined)
        .map(Number);
      expect(logged.length).toBeGreaterThan(0);
      for (const port of logged.slice(0, 50)) expect(clientPorts.has(port) || port > 0).toBe(true);
      expect(logged.some((port) => clientPorts.has(port))).toBe(true);
      haproxy.proc.kill("SIGTERM");
    },
    60_000,
  );
});

describe("PROXY protocol on the echo port", () => {
  concurrently(
    "v1 and v2 headers are read, never echoed; the client they name is logged; junk is refused",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--proxy-protocol", "--http-port", "0"],
      ]);
      const v1 = new Peer(server.port);
      await v1.send(
        new TextEncoder().encode("PROXY TCP4 203.0.113.7 192.0.2.1 40312 5000\r\nola\n"),
      );
      await v1.until(4);
      expect(v1.text()).toBe("ola\n");
      v1.close();
      await server.out.waitFor(
        /^#1 connected from 203\.0\.113\.7:40312 via 127\.0\.0\.1:\d+ \(PROXY v1\)$/,
      );

      const v2 = new Peer(server.port);
      const header = [
        ...[0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
        ...[0x21, 0x11, 0, 12, 198, 51, 100, 9, 192, 0, 2, 1, 0x9d, 0x78, 0x13, 0x88],
      ];
      // The header cut into one-byte pieces, as a slow balancer might send it.
      for (const byte of header) {
        v2.socket.write(new Uint8Array([byte]));
        await Bun.sleep(1); // separate writes, not a wait for an event
      }
      await v2.send(new TextEncoder().encode("v2\n"));
      await v2.until(3);
      expect(v2.text()).toBe("v2\n");
      v2.close();
      await server.out.waitFor(/^#2 connected from 198\.51\.100\.9:40312 via .* \(PROXY v2\)$/);

      const junk = new Peer(server.port);
      await junk.send(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      await junk.ended;
      expect(junk.bytes).toBe(0); // nothing echoed
      await server.out.waitFor(
        /^#3 from 127\.0\.0\.1:\d+ closed: no valid PROXY header \(its first bytes are not a PROXY header\); nothing echoed$/,
      );
      const silent = new Peer(server.port);
      await silent.ended; // closed by the server: no header within 3 s
      expect(silent.bytes).toBe(0);
      await server.out.waitFor(/^#4 .* \(no header within 3 s\); nothing echoed$/);
      const cut = new Peer(server.port); // half a header, then its end of stream
      await cut.send(new TextEncoder().encode("PROXY TCP4 203.0"));
      cut.finish();
      await cut.ended;
      await server.out.waitFor(
        /^#5 .* \(the connection ended before the header was complete\); nothing echoed$/,
      );
      const http = await httpPortOf(server);
      const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      expect(metrics).toContain('echo_connections_refused_total{reason="proxy_header"} 3\n');
    },
  );

  concurrently(
    "with TLS it is refused: the header would come before the handshake Bun starts",
    async () => {
      const server = run("server.ts", [
        "--proxy-protocol",
        "--tls-cert",
        "cert.pem",
        "--tls-key",
        "key.pem",
      ]);
      expect(await server.exited).toBe(2);
      expect(server.err.all).toEqual([
        "error: --proxy-protocol does not go with --tls-cert (see: bun run server --help)",
      ]);
    },
  );
});

describe("health, readiness and metrics", () => {
  concurrently.skipIf(!haveParser)(
    "/metrics is exact, read with prometheus_client's parser",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
      const http = await httpPortOf(server);
      const data = randomBytes(1_234_567);
      const peer = new Peer(server.port);
      await peer.send(data);
      peer.finish();
      await peer.ended;
      const open = new Peer(server.port);
      await open.send(new Uint8Array(1000));
      await open.until(1000);
      const m = await scrape(http);
      expect(m).toMatchObject({
        echo_connections_total: 2,
        echo_connections_open: 1,
        echo_bytes_received_total: 1_235_567,
        echo_bytes_echoed_total: 1_235_567,
        echo_connections_paused: 0,
        'echo_connections_refused_total{reason="max_connections"}': 0,
        echo_idle_timeouts_total: 0,
      });
      expect(m.process_start_time_seconds).toBeGreaterThan(Date.now() / 1000 - 600);
      open.close();
    },
  );

  concurrently(
    "/healthz, /readyz (503 once a stop signal came), 404, 405; HAProxy's HTTP/1.0 check without Host",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--http-port", "0"]);
      const http = await httpPortOf(server);
      const get = async (path: string, method = "GET") =>
        (await fetch(`http://127.0.0.1:${http}${path}`, { method })).status;
      expect(await get("/healthz")).toBe(200);
      expect(await get("/readyz")).toBe(200);
      expect(await get("/nope")).toBe(404);
      expect(await get("/metrics", "POST")).toBe(405);
      // Exactly what HAProxy's `option httpchk GET /readyz` sends: no Host header.
      const raw = await new Promise<string>((resolve) => {
        const s = netConnect({ port: http, host: "127.0.0.1" }, () =>
          s.end("GET /readyz HTTP/1.0\r\n\r\n"),
        );
        let text = "";
        s.on("data", (d) => (text += d));
        s.on("close", () => resolve(text));
      });
      expect(raw).toStartWith("HTTP/1.1 200");
      const peer = new Peer(server.port);
      await peer.connected;
      server.proc.kill("SIGTERM");
      for (let i = 0; i < 100 && (await get("/readyz")) === 200; i++) await Bun.sleep(10); // signal in flight
      expect(await get("/readyz")).toBe(503); // the balancer is told; the server then stops accepting
      await server.out.waitFor("stopping: no new connections");
      peer.finish();
      expect(await server.exited).toBe(0);
    },
  );

  concurrently("mode once: not ready once its one client has come", async () => {
    const server = await startServer(["--http-port", "0"]);
    const http = await httpPortOf(server);
    expect((await fetch(`http://127.0.0.1:${http}/readyz`)).status).toBe(200);
    const peer = new Peer(server.port);
    await peer.connected;
    await server.out.waitFor("no longer accepting");
    expect((await fetch(`http://127.0.0.1:${http}/readyz`)).status).toBe(503);
    peer.finish();
    expect(await server.exited).toBe(0);
  });

  concurrently.skipIf(!haveParser)(
    "--workers 2: the parent's /metrics adds up both workers",
    async () => {
      const server = await startServer([
        "--mode",
        "concurrent",
        "--workers",
        "2",
        "--http-port",
        "0",
        "--quiet",
      ]);
      const http = await httpPortOf(server);
      const data = randomBytes(10_000);
      for (let i = 0; i < 20; i++) {
        const peer = new Peer(server.port);
        await peer.send(data);
        peer.finish();
        await peer.ended;
      }
      const m = await scrape(http);
      expect(m.echo_connections_total).toBe(20);
      expect(m.echo_bytes_echoed_total).toBe(200_000);
      // A worker dies: the counters it had reported stay in the sums (counters never go back).
      const [first] = childrenOf(server.proc.pid);
      process.kill(first!, "SIGKILL");
      await server.err.waitFor("ended unexpectedly");
      const after = await scrape(http);
      expect(after.echo_connections_total).toBe(20);
      expect(after.echo_bytes_echoed_total).toBe(200_000);
      // A worker hangs (stopped): it cannot answer, and what it last said still counts.
      await until(() => childrenOf(server.proc.pid).length === 2); // the dead one restarted
      const [hung] = childrenOf(server.proc.pid);
      await scrape(http); // each worker has answered once, the restarted one too
      process.kill(hung!, "SIGSTOP");
      try {
        const stalled = await scrape(http);
        expect(stalled.echo_connections_total).toBe(20);
        expect(stalled.echo_bytes_echoed_total).toBe(200_000);
      } finally {
        process.kill(hung!, "SIGCONT");
      }
    },
  );

  concurrently.skipIf(!haveParser)(
    "echo the kernel took, then lost to an idle timeout, stays counted: the counter never goes back",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--http-port", "0", "--idle-timeout", "1", "--quiet"],
      ]);
      const http = await httpPortOf(server);
      // A peer that sends 16 MB and never reads: the kernel holds part of the echo, then the
      // idle timeout closes the connection with that part undelivered.
      const silent = new Peer(server.port, "127.0.0.1", false);
      void silent.send(randomBytes(16_000_000)); // never done: the server stops reading, then closes
      const scrapeWhen = async (wanted: (m: Record<string, number>) => boolean) => {
        for (;;) {
          const m = await scrape(http);
          if (wanted(m)) return m;
          await Bun.sleep(50); // polling a scrape: the event is in another process
        }
      };
      const before = await scrapeWhen((m) => m.echo_connections_paused === 1);
      expect(before.echo_bytes_echoed_total).toBeGreaterThan(0);
      await silent.ended;
      const after = await scrapeWhen((m) => m.echo_idle_timeouts_total === 1);
      expect(after.echo_connections_open).toBe(0);
      expect(after.echo_bytes_echoed_total).toBeGreaterThanOrEqual(before.echo_bytes_echoed_total!);
    },
  );
});

describe("logs and drain", () => {
  concurrently(
    "--log-format json: one JSON object per line, the same events as the text lines",
    async () => {
      const server = runCommand([BUN, "server.ts", "--port", "0", "--log-format", "json"]);
      const listening = JSON.parse(await server.out.waitFor(/"event":"listening"/));
      const peer = new Peer(listening.port);
      await peer.send(new TextEncoder().encode("oi\n"));
      await peer.until(3);
      peer.finish();
      expect(await server.exited).toBe(0);
      const records = server.out.all.map((line) => JSON.parse(line));
      expect(records.map((r) => r.event)).toEqual([
        "listening",
        "open",
        "onceStopsListening",
        "data",
        "close",
        "stopped",
      ]);
      expect(records[1]).toMatchObject({
        level: "info",
        id: 1,
        ip: "127.0.0.1",
        port: expect.any(Number),
      });
      expect(records[3]).toMatchObject({ id: 1, bytes: 3 });
      expect(records[4]).toMatchObject({ id: 1, echoed: 3, undelivered: 0 });
      for (const r of records) expect(new Date(r.time).getTime()).toBeGreaterThan(0);
    },
  );

  concurrently(
    "--drain-timeout 1: a connection still busy after the stop is closed, and counted",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--drain-timeout", "1"]);
      const busy = new Peer(server.port);
      await server.out.waitFor("#1 connected");
      // Keeps talking, so the no-progress rule never closes it: only the drain timeout can.
      const talk = setInterval(() => busy.socket.write("x"), 100);
      try {
        server.proc.kill("SIGTERM");
        await busy.ended;
        expect(await server.exited).toBe(75); // the drain cut a connection
        expect(server.out.text).toContain(
          "closing 1 connection still open 1.0 s after the stop (--drain-timeout)",
        );
      } finally {
        clearInterval(talk);
      }
    },
  );
});
