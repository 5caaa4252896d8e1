/** The server, as a real process, against real sockets: every byte back, in order, unchanged. */
import { describe, expect } from "bun:test";
import {
  concurrently,
  echoOf,
  goodClient,
  have,
  Peer,
  pipeThrough,
  randomBytes,
  roundTrip,
  run,
  sha256,
  startServer,
  TRACE_ONLY,
} from "../helpers.ts";
import { rssBytes } from "../support/processes.ts";

const MiB = 1 << 20;

describe("byte-exact echo", () => {
  concurrently(
    "16 MiB random payload, writer half-closes, reader starts only after the server paused",
    async () => {
      const server = await startServer(TRACE_ONLY);
      // More than the kernel's buffers and --max-buffer hold, so the server must pause (a payload
      // too small for that would fail the wait below, not pass).
      const payload = randomBytes(16 * MiB);
      const peer = new Peer(server.port, "127.0.0.1", false); // not reading yet
      await peer.connected;
      const sending = peer.send(payload).then(() => peer.finish());
      // The server cannot write more than the kernel holds; it must stop reading, not buffer.
      await server.err.waitFor(/#1 pause/);
      peer.socket.resume();
      await sending;
      await peer.ended;
      expect(peer.bytes).toBe(payload.length);
      expect(sha256(peer.received)).toBe(sha256(payload));
      await server.err.waitFor(/#1 close/);
    },
  );

  concurrently(
    "half-close while echo is still queued in the server: it finishes the echo, then closes",
    async () => {
      // A big --max-buffer lets the server read to the FIN while megabytes wait to be written.
      const server = await startServer([...TRACE_ONLY, "--max-buffer", "64m"]);
      const payload = randomBytes(24 * MiB);
      const peer = new Peer(server.port, "127.0.0.1", false);
      await peer.connected;
      await peer.send(payload);
      peer.finish();
      const end = await server.err.waitFor(/#1 end \d+/);
      expect(Number(end.split(" ").at(-1))).toBeGreaterThan(0); // FIN seen with bytes still queued
      peer.socket.resume(); // the reader starts late
      await peer.ended;
      expect(peer.bytes).toBe(payload.length);
      expect(sha256(peer.received)).toBe(sha256(payload));
    },
  );

  concurrently("all 256 byte values, cut into uneven pieces, come back unchanged", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const payload = new Uint8Array(256 * 64).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
    const peer = new Peer(server.port);
    await peer.connected;
    for (let at = 0, size = 1; at < payload.length; at += size, size = (size * 3) % 509 || 1) {
      peer.socket.write(payload.subarray(at, at + size));
    }
    peer.finish();
    await peer.ended;
    expect(Buffer.compare(peer.all(), payload)).toBe(0);
    // The log shows the bytes escaped, never raw: NUL and friends cannot break a log line.
    await server.out.waitFor(/#1 closed/);
    expect(server.out.text).toMatch(/#1 received [\d,]+ bytes?: "\\0/);
    expect(server.out.all.filter((line) => /[\x00-\x1f\x7f]/.test(line))).toEqual([]);
  });

  concurrently(
    "a client that sends 40 MiB and does not read: server memory stays bounded, every byte comes back",
    async () => {
      const server = await startServer(TRACE_ONLY);
      await goodClient(server, 4 * MiB); // warm up the echo path, so the baseline includes it
      Bun.gc(true);
      const baseline = rssBytes(server.proc.pid);

      // Five times the bound below: a server that held what the kernel cannot fails it (with
      // --max-buffer 16m it grew 13 MiB).
      const payload = randomBytes(40 * MiB);
      const peer = new Peer(server.port, "127.0.0.1", false);
      await peer.connected;
      const sending = peer.send(payload).then(() => peer.finish());
      await server.err.waitFor(/#2 pause/);
      // While the peer does not read, watch the server: memory must not follow the 40 MiB.
      let peak = 0;
      for (let i = 0; i < 8; i++) {
        await Bun.sleep(150); // sampling interval of a measurement, not a synchronisation
        peak = Math.max(peak, rssBytes(server.proc.pid));
      }
      expect(server.err.count(/#2 resume/)).toBe(0); // still stalled: the peer never read
      expect(peak - baseline).toBeLessThan(8 * MiB);
      peer.socket.resume();
      await sending;
      await peer.ended;
      expect(peer.bytes).toBe(payload.length);
      expect(sha256(peer.received)).toBe(sha256(payload));
    },
  );

  concurrently("100 clients at once each get exactly their own bytes back", async () => {
    const server = await startServer(["--mode", "concurrent", "--quiet"]);
    const payloads = Array.from({ length: 100 }, (_, i) => randomBytes(32 * 1024 + i * 517));
    const echoes = await Promise.all(payloads.map((payload) => echoOf(server.port, payload, 4096)));
    echoes.forEach((echo, i) => expect(sha256(echo)).toBe(sha256(payloads[i]!)));
  });
});

describe("real peers", () => {
  const payload = randomBytes(8 * MiB);

  concurrently.skipIf(!have("socat"))(
    "socat: 8 MiB through stdin, half-close, whole echo",
    async () => {
      const server = await startServer(["--quiet"]);
      const socat = await pipeThrough(
        ["socat", "-t", "30", "-", `TCP:127.0.0.1:${server.port}`],
        payload,
      );
      expect(socat.code).toBe(0);
      expect(sha256(socat.output)).toBe(sha256(payload));
      expect(await server.exited).toBe(0); // mode once: exits after its client
    },
  );

  concurrently.skipIf(!have("nc"))("nc -N: 8 MiB, half-close, whole echo", async () => {
    const server = await startServer(["--quiet"]);
    const nc = await pipeThrough(["nc", "-N", "127.0.0.1", String(server.port)], payload);
    expect(nc.code).toBe(0);
    expect(sha256(nc.output)).toBe(sha256(payload));
    expect(await server.exited).toBe(0); // mode once: exits after its client
  });
});

describe("output", () => {
  concurrently(
    "one line per connection, per message and per close; --quiet keeps only the listening line",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const peer = new Peer(server.port);
      await roundTrip(peer, "oi\n");
      peer.finish();
      await peer.ended;
      await server.out.waitFor(/^#1 closed/);
      expect(server.out.all).toEqual([
        `listening on 127.0.0.1:${server.port} (mode concurrent)`,
        expect.stringMatching(/^#1 connected from 127\.0\.0\.1:\d+$/),
        '#1 received 3 bytes: "oi\\n"',
        expect.stringMatching(/^#1 closed: 3 bytes echoed in \d+\.\d s$/),
      ]);

      const quiet = await startServer(["--mode", "concurrent", "--quiet"]);
      const other = new Peer(quiet.port);
      await roundTrip(other, "oi\n");
      other.close();
      quiet.proc.kill("SIGTERM");
      expect(await quiet.exited).toBe(0);
      expect(quiet.out.all).toEqual([`listening on 127.0.0.1:${quiet.port} (mode concurrent)`]);
    },
  );

  concurrently("--version and --help", async () => {
    const version = run("server.ts", ["--version"]);
    expect(await version.exited).toBe(0);
    expect(version.out.text).toMatch(/^\d+\.\d+\.\d+$/);
    const help = run("server.ts", ["--help"]);
    expect(await help.exited).toBe(0);
    for (const option of [
      "--host",
      "--port",
      "--mode",
      "--quiet",
      "ECHO_HOST",
      "ECHO_PORT",
      "ECHO_MODE",
    ]) {
      expect(help.out.text).toContain(option);
    }
  });
});
