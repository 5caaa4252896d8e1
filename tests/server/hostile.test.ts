/** Limits, hostile and broken peers, and a randomized run: none of them hurts anyone else. */
import { describe, expect } from "bun:test";
import {
  concurrently,
  goodClient,
  Peer,
  randomBytes,
  roundTrip,
  sha256,
  startServer,
  TRACE_ONLY,
  until,
} from "../helpers.ts";
import { rssBytes } from "../support/processes.ts";

const MiB = 1 << 20;

describe("--max-connections", () => {
  concurrently(
    "beyond N open connections new ones are closed at once, existing ones untouched, one warning a second",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--max-connections", "3"]);
      const kept = [new Peer(server.port), new Peer(server.port), new Peer(server.port)];
      await Promise.all(kept.map((peer) => peer.connected));
      await server.out.waitFor("#3 connected");
      const extra = Array.from({ length: 30 }, () => new Peer(server.port));
      await Promise.all(extra.map((peer) => peer.ended)); // each one closed by the server
      expect(extra.every((peer) => peer.bytes === 0)).toBe(true);
      await server.err.waitFor("the limit (--max-connections)");
      expect(server.err.count(/warning/)).toBeLessThanOrEqual(2); // not one line per connection
      // The three kept connections still echo exactly.
      for (const peer of kept) {
        expect(await roundTrip(peer, "still here\n")).toBe("still here\n");
      }
      expect(server.out.count(/connected/)).toBe(3);
    },
  );
});

describe("--idle-timeout", () => {
  concurrently(
    "a silent connection is closed after the timeout, never before; traffic keeps one open",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--idle-timeout", "1"]);
      const connectedAt = performance.now(); // before: the server's count starts after this
      const silent = new Peer(server.port);
      await silent.connected;
      const talker = new Peer(server.port);
      await talker.connected;
      const talkerAt = performance.now();
      let sent = 0;
      let silentClosed = false;
      // The talker sends a byte every 200 ms (5 times the timeout's resolution) until the silent
      // one is closed and it has itself been open 1.5 times the timeout: each echo must come back.
      const talking = (async () => {
        while (!silentClosed || performance.now() - talkerAt < 1500) {
          await talker.send(new Uint8Array([65]));
          await talker.until(++sent);
          await Bun.sleep(200); // the talker's pace, not a synchronisation
        }
      })();
      await silent.ended;
      silentClosed = true;
      const lived = performance.now() - connectedAt;
      await talking;
      expect(lived).toBeGreaterThanOrEqual(1000);
      expect(await server.out.waitFor(/^#1 closed: /)).toMatch(
        /\(idle timeout: no traffic for 1\.0 s\)$/,
      );
      expect(server.out.count(/#2 closed/)).toBe(0); // the talker is still open
      expect(talker.text()).toBe("A".repeat(sent));
    },
  );
});

describe("--max-buffer", () => {
  concurrently(
    "memory for many clients that do not read stays under N × (max-buffer + one read) + overhead",
    async () => {
      const server = await startServer([...TRACE_ONLY, "--max-buffer", "64k"]);
      await goodClient(server, 4 * MiB); // warm up
      Bun.gc(true);
      const baseline = rssBytes(server.proc.pid);
      const N = 40;
      const payloads = Array.from({ length: N }, () => randomBytes(6 * MiB));
      const peers = payloads.map(() => new Peer(server.port, "127.0.0.1", false));
      const sending = peers.map((peer, i) => peer.send(payloads[i]!).then(() => peer.finish()));
      // Each client has far more in flight than the kernel holds: the server stops reading from
      // every one of them. Watch memory until all have stalled, then let it settle.
      let peak = 0;
      const stalled = () =>
        new Set(
          server.err.all
            .filter((l) => / pause /.test(l))
            .map((l) => l.split("#")[1]!.split(" ")[0]),
        ).size;
      for (let i = 0; i < 100 && stalled() < N; i++) {
        await Bun.sleep(50); // sampling interval of a measurement, bounded
        peak = Math.max(peak, rssBytes(server.proc.pid));
      }
      expect(stalled()).toBe(N);
      const settled: number[] = [];
      for (let i = 0; i < 10; i++) {
        await Bun.sleep(100);
        settled.push(rssBytes(server.proc.pid));
      }
      peak = Math.max(peak, ...settled);
      // A well-behaved client alongside is served exactly, meanwhile.
      await goodClient(server);
      const held = Math.min(...settled.slice(-3)) - baseline;
      // Plus the runtime's slack: garbage not yet collected (Buffer chunks, 40-45 MiB seen in all).
      expect(held).toBeLessThan(N * (64 * 1024 + 512 * 1024) + 24 * MiB); // ~0.5 MiB each seen
      // Even the transient peak stays far below what buffering everything would take (N × 6 MiB).
      expect(peak - baseline).toBeLessThan(80 * MiB);
      peers.forEach((peer) => peer.socket.resume());
      await Promise.all(sending);
      await Promise.all(peers.map((peer) => peer.ended));
      peers.forEach((peer, i) => expect(sha256(peer.received)).toBe(sha256(payloads[i]!)));
    },
  );
});

describe("hostile and broken peers", () => {
  concurrently(
    "silent, byte-at-a-time, half-close-and-never-read, reset mid-echo, and connect/drop storms: a good client is unaffected and memory comes back",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      await goodClient(server, 4 * MiB);
      Bun.gc(true);
      const baseline = rssBytes(server.proc.pid);

      const silent = Array.from({ length: 20 }, () => new Peer(server.port));
      const trickler = new Peer(server.port);
      const trickling = (async () => {
        for (let i = 0; i < 10; i++) {
          await trickler.send(new Uint8Array([i]));
          await trickler.until(i + 1); // one byte, then its echo, then the next
        }
      })();
      const deaf = new Peer(server.port, "127.0.0.1", false); // half-closes and never reads
      void deaf.send(randomBytes(8 * MiB)).then(() => deaf.finish());
      const resetters = Array.from({ length: 10 }, async () => {
        const peer = new Peer(server.port);
        void peer.send(randomBytes(4 * MiB));
        await peer.until(64 * 1024); // part of the echo is back: reset in the middle of it
        peer.socket.resetAndDestroy();
      });
      const storm = (async () => {
        for (let round = 0; round < 10; round++) {
          const batch = Array.from({ length: 30 }, () => new Peer(server.port));
          await Promise.all(batch.map((peer) => peer.connected.catch(() => {})));
          batch.forEach((peer) => peer.close());
        }
      })();
      // Meanwhile, well-behaved clients keep getting exact echoes.
      await Promise.all([goodClient(server), goodClient(server), goodClient(server, MiB)]);
      await Promise.all([trickling, storm, ...resetters]);
      expect(Buffer.from(trickler.all())).toEqual(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));

      // All gone: memory returns to (near) its baseline, and the server still works.
      [...silent, trickler, deaf].forEach((peer) => peer.close());
      await goodClient(server);
      let after = Infinity;
      for (let i = 0; i < 30 && after - baseline > 16 * MiB; i++) {
        await Bun.sleep(100); // the server frees memory in its own time; poll, bounded
        after = rssBytes(server.proc.pid);
      }
      // Within allocator slack (6-8 MiB seen) of the baseline, after ~50 MiB of hostile traffic.
      expect(after - baseline).toBeLessThan(16 * MiB);
      // Exactly: the server holds no connection any more. With none open, a stop is immediate.
      await server.out.waitFor(/#\d+ closed/);
      // Closes of the last peers reach the server in their own time.
      await until(() => server.out.count(/closed/) >= server.out.count(/connected/), 2000);
      expect(server.out.count(/closed/)).toBe(server.out.count(/connected/));
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.out.text).not.toContain("stopping:");
    },
  );
});

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe("randomized", () => {
  const seed = Number(process.env.ECHO_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  concurrently(
    `random payloads, pieces, pauses and half-closes from many clients (seed ${seed}; replay with ECHO_TEST_SEED=${seed})`,
    async () => {
      const rand = random(seed);
      const server = await startServer(["--mode", "concurrent", "--quiet", "--max-buffer", "16k"]);
      const clients = Array.from({ length: 24 }, async () => {
        const size = Math.floor(rand() ** 3 * 3 * MiB);
        const payload = randomBytes(size);
        const halfClose = rand() < 0.7;
        const lateReader = rand() < 0.3;
        const peer = new Peer(server.port, "127.0.0.1", !lateReader);
        await peer.connected;
        let at = 0;
        while (at < size) {
          const piece = 1 + Math.floor(rand() ** 2 * 256 * 1024);
          await peer.send(payload.subarray(at, at + piece), piece);
          at += piece;
          if (rand() < 0.2) await Bun.sleep(Math.floor(rand() * 5)); // random pauses
          if (lateReader && at > size / 2) peer.socket.resume();
        }
        peer.socket.resume();
        if (halfClose) peer.finish();
        await peer.until(size);
        if (!halfClose) peer.finish();
        await peer.ended;
        expect(peer.bytes).toBe(size);
        expect(sha256(peer.received)).toBe(sha256(payload));
      });
      await Promise.all(clients);
    },
  );
});
