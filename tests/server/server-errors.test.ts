/** The server's errors and its shutdown: one line each, a documented exit status, no stack trace. */
import { DUPLICATE_WITHIN_MS } from "../../src/common/signals.ts";
import { describe, expect } from "bun:test";
import {
  BUN,
  concurrently,
  connectedPeer,
  have,
  Peer,
  randomBytes,
  run,
  runCommand,
  sha256,
  startServer,
  testServer,
} from "../helpers.ts";

// Ports below this need CAP_NET_BIND_SERVICE (Linux); the test drops just that capability,
// keeping root's access to the files (the checkout may be in a private directory).
const unprivilegedFrom = Number(
  (
    await Bun.file("/proc/sys/net/ipv4/ip_unprivileged_port_start")
      .text()
      .catch(() => "0")
  ).trim(),
);
const usage = (problem: string) => `error: ${problem} (see: bun run server --help)`;

describe("cannot listen: exit 1", () => {
  concurrently("port in use: one line that suggests --port", async () => {
    using taken = testServer(() => {});
    const server = run("server.ts", ["--port", String(taken.port)]);
    expect(await server.exited).toBe(1);
    expect(server.err.all).toEqual([
      `error: 127.0.0.1:${taken.port} is already in use; is another server running? Choose another port with --port (for example --port ${taken.port + 1}, or --port 0 for any free one), and give the client the same --port`,
    ]);
    expect(server.out.text).toBe("");
  });

  concurrently.each([
    // Binding fails locally (EADDRNOTAVAIL); no packet is sent. 192.0.2.0/24 is for documentation.
    [
      "an address that is not on this machine",
      "192.0.2.1",
      "error: cannot listen on 192.0.2.1: it is not an address of this machine (try 127.0.0.1, ::1 or 0.0.0.0)",
    ],
    // A name with spaces fails in the resolver itself: no DNS query leaves the machine.
    [
      "a host name that does not resolve",
      "no such host",
      'error: cannot resolve host "no such host"',
    ],
  ])("%s (--host %p)", async (_, host, line) => {
    const server = run("server.ts", ["--host", host]);
    expect(await server.exited).toBe(1);
    expect(server.err.all).toEqual([line]);
    expect(server.out.text).toBe("");
  });

  const canDrop = process.getuid?.() === 0 && have("setpriv") && unprivilegedFrom > 80;
  concurrently.skipIf(!canDrop)(
    "a privileged port without privileges: permission denied",
    async () => {
      const drop = [
        "setpriv",
        "--bounding-set",
        "-net_bind_service",
        "--inh-caps",
        "-net_bind_service",
      ];
      const server = runCommand([...drop, BUN, "server.ts", "--port", "80"]);
      expect(await server.exited).toBe(1);
      expect(server.err.all).toEqual([
        "error: permission denied to listen on 127.0.0.1:80; ports below 1024 need privileges, use --port 1024 or above",
      ]);
    },
  );
});

describe("usage errors: exit 2", () => {
  concurrently.each([
    [["--port", "65536"], usage('--port must be a whole number from 0 to 65535, not "65536"')],
    [["--port", "-1"], usage('--port must be a whole number from 0 to 65535, not "-1"')],
    [["--port"], usage("option --port needs a value")],
    [
      ["--idle-timeout", "-3"],
      usage('--idle-timeout must be a number of seconds, 0 for never, not "-3"'),
    ],
    [["--host", ""], usage("--host needs a host name or address, not an empty one")],
    // Finer than the server's checks: it would not be kept.
    [
      ["--idle-timeout", "0.01"],
      usage('--idle-timeout must be 0 (never) or at least 0.1 seconds, not "0.01"'),
    ],
    // Longer than a runtime timer can wait (24.8 days): it would fire at once.
    [
      ["--drain-timeout", "2592000"],
      usage('--drain-timeout must be at most 2,073,600 seconds (24 days), not "2592000"'),
    ],
    [["--host", "999.1.1.1"], usage('--host: "999.1.1.1" is not an IP address')],
    [["--quiet=1"], usage("option --quiet takes no value")],
    [["--port", "12ab"], usage('--port must be a whole number from 0 to 65535, not "12ab"')],
    [
      ["--mode", "parallel"],
      usage('--mode must be once, sequential or concurrent, not "parallel"'),
    ],
    [["--verbose"], usage("unknown option --verbose")],
    [["--lang", "fr"], usage('--lang must be en or pt, not "fr"')],
    [["5000"], usage('unexpected argument "5000" (to choose the port: --port 5000)')],
    [["--prot", "5000"], usage("unknown option --prot (did you mean --port?)")],
  ])("%p", async (args, line) => {
    const server = run("server.ts", args);
    expect(await server.exited).toBe(2);
    expect(server.err.all).toEqual([line]);
  });

  concurrently("a bad environment variable names the variable", async () => {
    const server = run("server.ts", [], { env: { ECHO_MODE: "many" } });
    expect(await server.exited).toBe(2);
    expect(server.err.all).toEqual([
      usage('ECHO_MODE must be once, sequential or concurrent, not "many"'),
    ]);
  });

  concurrently("a rule across options names the variables that were set, not flags", async () => {
    const server = run("server.ts", ["--port", "5"], { env: { ECHO_UNIX: "/tmp/echo.sock" } });
    expect(await server.exited).toBe(2);
    expect(server.err.all).toEqual([usage("ECHO_UNIX does not go with --port")]);
  });
});

describe("stopping on a signal", () => {
  concurrently("SIGTERM: stops listening, lets an echo in flight finish, exits 0", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const payload = randomBytes(16 << 20);
    const peer = new Peer(server.port);
    await peer.connected;
    await peer.send(payload.subarray(0, 1 << 20));
    await peer.until(1 << 20); // the connection is established and echoing
    server.proc.kill("SIGTERM");
    await server.out.waitFor("stopping: no new connections");
    const late = new Peer(server.port);
    expect(
      await late.connected.then(
        () => "connected",
        (e) => e.code,
      ),
    ).toBe("ECONNREFUSED");
    await peer.send(payload.subarray(1 << 20));
    peer.finish();
    await peer.ended;
    expect(sha256(peer.received)).toBe(sha256(payload));
    expect(await server.exited).toBe(0);
    expect(server.out.all.at(-1)).toMatch(/^stopped: 1 connection, 16,777,216 bytes echoed, up /);
  });

  concurrently(
    "SIGTERM under load: ten clients with echoes in flight all finish exact, then exit 0",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--quiet"]);
      const payloads = Array.from({ length: 10 }, () => randomBytes(4 << 20));
      const peers = payloads.map(() => new Peer(server.port));
      // Every client is mid-transfer when the signal arrives.
      await Promise.all(peers.map((peer, i) => peer.send(payloads[i]!.subarray(0, 1 << 20))));
      await Promise.all(peers.map((peer) => peer.until(64 << 10)));
      server.proc.kill("SIGTERM");
      await Promise.all(
        peers.map(async (peer, i) => {
          await peer.send(payloads[i]!.subarray(1 << 20));
          peer.finish();
          await peer.ended;
          expect(sha256(peer.received)).toBe(sha256(payloads[i]!));
        }),
      );
      expect(await server.exited).toBe(0);
    },
  );

  concurrently(
    "a connection silent for --drain-idle after the signal is closed; its echo had all gone: exit 0",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--drain-idle", "0.5"]);
      const idle = await connectedPeer(server);
      server.proc.kill("SIGINT");
      await idle.ended; // closed by the server after --drain-idle
      expect(await server.exited).toBe(0);
      expect(server.out.text).toMatch(
        /#1 closed: 0 bytes echoed in [\d.]+ s \(at the stop: no traffic for 0\.5 s after Ctrl-C; tune with --drain-idle\)/,
      );
    },
  );

  concurrently(
    "a client whose echo is stuck (it never reads), closed by --drain-idle: echo cut, exit 75, said",
    async () => {
      const server = await startServer([
        ...["--mode", "concurrent", "--max-buffer", "1k", "--trace", "--drain-idle", "0.5"],
      ]);
      const hog = new Peer(server.port, "127.0.0.1", false); // never reads
      await hog.connected;
      hog.socket.write(randomBytes(8 << 20));
      await server.err.waitFor(/pause/); // its echo fills the kernel's buffers and the outbox
      server.proc.kill("SIGINT");
      expect(await server.exited).toBe(75);
      expect(server.out.text).toMatch(
        /#1 closed: .* \(at the stop: no traffic for 0\.5 s after Ctrl-C/,
      );
      expect(server.err.text).toContain("the stop cut 1 connection short (exit status 75)");
      hog.close();
    },
  );

  concurrently("a second signal closes everything at once: exit 130 for SIGINT", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const idle = await connectedPeer(server);
    server.proc.kill("SIGINT");
    await server.out.waitFor("stopping");
    // A person's second press comes later than the copy that `bun run` forwards within a
    // millisecond, which the server takes for the same press (src/common/signals.ts).
    await Bun.sleep(DUPLICATE_WITHIN_MS + 100);
    server.proc.kill("SIGINT");
    expect(await server.exited).toBe(130);
    await idle.ended;
  });

  concurrently("with no connection open, a signal exits 0 at once", async () => {
    const server = await startServer(["--mode", "sequential"]);
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });
});

describe("one connection's failure is its own", () => {
  concurrently("a client that resets mid-echo does not disturb another", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const good = await connectedPeer(server);
    // Bun's terminate() closes with RST (SO_LINGER 0), in the middle of the echo.
    const bad = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: { data() {} },
    });
    bad.write(randomBytes(8 << 20)); // as much as the kernel takes
    await server.out.waitFor("#2 received");
    bad.terminate();
    await server.out.waitFor(/#2 closed: .* \((connection reset by peer|connection lost: .*)\)$/);
    const payload = randomBytes(1 << 20);
    await good.send(payload);
    good.finish();
    await good.ended;
    expect(sha256(good.received)).toBe(sha256(payload));
  });
});
