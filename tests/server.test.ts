/** The server, as a real process, against real sockets: every byte back, in order, unchanged. */
import { describe, expect, test } from "bun:test";
import { have, Peer, randomBytes, rssOf, run, sha256, startServer } from "./helpers.ts";

const MiB = 1 << 20;

describe("byte-exact echo", () => {
  test("64 MiB random payload, writer half-closes, reader starts only after the server paused", async () => {
    const server = await startServer(["--mode", "concurrent", "--quiet", "--trace"]);
    const payload = randomBytes(64 * MiB);
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
  });

  test("half-close while echo is still queued in the server: it finishes the echo, then closes", async () => {
    // A big --max-buffer lets the server read to the FIN while megabytes wait to be written.
    const server = await startServer([
      "--mode",
      "concurrent",
      "--quiet",
      "--trace",
      "--max-buffer",
      "64m",
    ]);
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
  });

  test("all 256 byte values, cut into uneven pieces, come back unchanged", async () => {
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

  test("a client that sends 100 MB and does not read: server memory stays bounded, every byte comes back", async () => {
    const server = await startServer(["--mode", "concurrent", "--quiet", "--trace"]);
    // Warm up the echo path so the baseline includes it.
    const warm = new Peer(server.port);
    await warm.send(randomBytes(4 * MiB));
    warm.finish();
    await warm.ended;
    Bun.gc(true);
    const baseline = await rssOf(server.proc.pid);

    const payload = randomBytes(100 * 1000 * 1000);
    const peer = new Peer(server.port, "127.0.0.1", false);
    await peer.connected;
    const sending = peer.send(payload).then(() => peer.finish());
    await server.err.waitFor(/#2 pause/);
    // While the peer does not read, watch the server: memory must not follow the 100 MB.
    let peak = 0;
    for (let i = 0; i < 8; i++) {
      await Bun.sleep(150); // sampling interval of a measurement, not a synchronisation
      peak = Math.max(peak, await rssOf(server.proc.pid));
    }
    expect(server.err.count(/#2 resume/)).toBe(0); // still stalled: the peer never read
    expect(peak - baseline).toBeLessThan(8 * MiB);
    peer.socket.resume();
    await sending;
    await peer.ended;
    expect(peer.bytes).toBe(payload.length);
    expect(sha256(peer.received)).toBe(sha256(payload));
  });

  test("100 clients at once each get exactly their own bytes back", async () => {
    const server = await startServer(["--mode", "concurrent", "--quiet"]);
    const payloads = Array.from({ length: 100 }, (_, i) => randomBytes(32 * 1024 + i * 517));
    const peers = payloads.map(() => new Peer(server.port));
    await Promise.all(
      peers.map(async (peer, i) => {
        await peer.send(payloads[i]!, 4096);
        peer.finish();
        await peer.ended;
      }),
    );
    peers.forEach((peer, i) => expect(sha256(peer.received)).toBe(sha256(payloads[i]!)));
  });
});

describe("real peers", () => {
  const payload = randomBytes(8 * MiB);

  test.skipIf(!have("socat"))("socat: 8 MiB through stdin, half-close, whole echo", async () => {
    const server = await startServer(["--quiet"]);
    const socat = Bun.spawn(["socat", "-t", "30", "-", `TCP:127.0.0.1:${server.port}`], {
      stdin: payload,
      stdout: "pipe",
      stderr: "pipe",
    });
    const got = new Uint8Array(await new Response(socat.stdout).arrayBuffer());
    expect(await socat.exited).toBe(0);
    expect(sha256(got)).toBe(sha256(payload));
    expect(await server.exited).toBe(0); // mode once: exits after its client
  });

  test.skipIf(!have("nc"))("nc -N: 8 MiB, half-close, whole echo", async () => {
    const server = await startServer(["--quiet"]);
    const nc = Bun.spawn(["nc", "-N", "127.0.0.1", String(server.port)], {
      stdin: payload,
      stdout: "pipe",
      stderr: "pipe",
    });
    const got = new Uint8Array(await new Response(nc.stdout).arrayBuffer());
    expect(await nc.exited).toBe(0);
    expect(sha256(got)).toBe(sha256(payload));
  });
});

describe("output", () => {
  test("one line per connection, per message and per close; --quiet keeps only the listening line", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const peer = new Peer(server.port);
    await peer.send(new TextEncoder().encode("oi\n"));
    await peer.until(3);
    peer.finish();
    await peer.ended;
    expect(await server.out.waitFor("#1 connected from 127.0.0.1:")).toBeDefined();
    expect(await server.out.waitFor('#1 received 3 bytes: "oi\\n"')).toBeDefined();
    expect(await server.out.waitFor(/#1 closed: 3 bytes echoed in \d+\.\d s$/)).toBeDefined();

    const quiet = await startServer(["--mode", "concurrent", "--quiet"]);
    const other = new Peer(quiet.port);
    await other.send(new TextEncoder().encode("oi\n"));
    await other.until(3);
    other.close();
    quiet.proc.kill("SIGTERM");
    expect(await quiet.exited).toBe(0);
    expect(quiet.out.all).toEqual([`listening on 127.0.0.1:${quiet.port} (mode concurrent)`]);
  });

  test("--version and --help", async () => {
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
