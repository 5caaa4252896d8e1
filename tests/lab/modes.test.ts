/** The three server modes: once (the lab's rule), sequential and concurrent. */
import { describe, expect } from "bun:test";
import { concurrently, Peer, roundTrip, startServer } from "../helpers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("mode once (default)", () => {
  concurrently(
    "serves the first client, refuses a second, and exits 0 when the first leaves",
    async () => {
      const server = await startServer();
      expect(server.out.all[0]).toContain("(mode once)");
      const first = new Peer(server.port);
      expect(await roundTrip(first, "oi\n")).toBe("oi\n");
      await server.out.waitFor("no longer accepting connections");

      const second = new Peer(server.port);
      const refused = await second.connected.then(
        () => "connected",
        (error) => error.code,
      );
      expect(refused).toBe("ECONNREFUSED");

      first.finish();
      await first.ended;
      expect(await server.exited).toBe(0);
      expect(server.out.text).toMatch(/#1 closed: 3 bytes echoed/);
    },
  );
});

describe("mode sequential", () => {
  concurrently(
    "a waiting client that half-closed after sending is served, as its lines say; one that left with nothing sent has gone",
    async () => {
      const server = await startServer(["--mode", "sequential"]);
      const first = new Peer(server.port);
      expect(await roundTrip(first, "first\n")).toBe("first\n");
      const second = new Peer(server.port);
      await second.send(bytes("bye bye\n"));
      second.finish(); // `nc -N`: its FIN waits in the kernel, unread, but it still reads
      await server.out.waitFor("#2 waiting: 1 client ahead");
      const third = new Peer(server.port);
      await server.out.waitFor("#3 waiting: 2 clients ahead");
      third.close(); // Ctrl-C while waiting, having sent nothing
      await third.ended;
      first.finish();
      await second.ended;
      expect(second.text()).toBe("bye bye\n");
      await server.out.waitFor(/^#3 had gone while waiting its turn: not served$/);
      server.proc.kill("SIGTERM");
      await server.exited;
      const lines = server.out.all.filter((line) => /^#[23] (?!connected)/.test(line));
      expect(lines.map((line) => line.replace(/ in [\d.]+ s$/, ""))).toEqual([
        "#2 waiting: 1 client ahead",
        "#3 waiting: 2 clients ahead",
        "#2 now being served",
        '#2 received 8 bytes: "bye bye\\n"',
        "#2 closed: 8 bytes echoed",
        "#3 had gone while waiting its turn: not served",
      ]);
      // The summary adds up from the close lines: 6 + 8 bytes.
      expect(server.out.text).toMatch(/^stopped: 3 connections, 14 bytes echoed/m);
    },
  );

  concurrently(
    "the second client waits, untouched, until the first leaves; then it is served",
    async () => {
      const server = await startServer(["--mode", "sequential"]);
      const first = new Peer(server.port);
      expect(await roundTrip(first, "first\n")).toBe("first\n");

      const second = new Peer(server.port);
      await second.send(bytes("second\n"));
      await server.out.waitFor("#2 waiting: 1 client ahead");
      // The server is busy with the first client: it keeps echoing it, and not the second.
      expect(await roundTrip(first, "again\n")).toBe("first\nagain\n");
      expect(second.bytes).toBe(0);
      expect(server.out.count(/#2 received/)).toBe(0);

      first.finish();
      await first.ended;
      await second.until(7);
      expect(second.text()).toBe("second\n");
      expect(await server.out.waitFor(/^#2 now/)).toBe("#2 now being served");
      // And the server keeps running for the next one.
      second.finish();
      await second.ended;
      const third = new Peer(server.port);
      expect(await roundTrip(third, "third\n")).toBe("third\n");
      third.close();
    },
  );

  concurrently("waiting clients are served in arrival order", async () => {
    const server = await startServer(["--mode", "sequential"]);
    const first = new Peer(server.port);
    expect(await roundTrip(first, "1\n")).toBe("1\n");
    const others = [new Peer(server.port), new Peer(server.port), new Peer(server.port)];
    await Promise.all(others.map((peer) => peer.connected));
    await server.out.waitFor("#4 waiting: 3 clients ahead");
    // Arrival order as the server saw it: its connection ids, matched by our local ports.
    const idOf = (peer: Peer) =>
      Number(
        server.out.all.find((line) => line.endsWith(`:${peer.socket.localPort}`))!.slice(1, 2),
      );
    const served: number[] = [];
    const done = others.map(async (peer) => {
      await peer.send(bytes("x\n"));
      await peer.until(2);
      served.push(idOf(peer));
      peer.finish(); // leaving lets the next one in
      await peer.ended;
    });
    expect(await roundTrip(first, "2\n")).toBe("1\n2\n");
    expect(served).toEqual([]); // nobody behind the first has been echoed
    first.finish();
    await Promise.all(done);
    expect(served).toEqual([2, 3, 4]);
  });
});

describe("mode concurrent", () => {
  concurrently("two clients are served at the same time", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const a = new Peer(server.port);
    const b = new Peer(server.port);
    expect(await roundTrip(a, "a1\n")).toBe("a1\n");
    expect(await roundTrip(b, "b1\n")).toBe("b1\n");
    expect(await roundTrip(a, "a2\n")).toBe("a1\na2\n");
    a.finish();
    b.finish();
    await Promise.all([a.ended, b.ended]);
    // Still listening after both left.
    const c = new Peer(server.port);
    expect(await roundTrip(c, "c\n")).toBe("c\n");
    c.close();
  });
});

describe("environment defaults", () => {
  concurrently("ECHO_MODE and ECHO_HOST are used when no flag is given; flags win", async () => {
    const server = await startServer([], { ECHO_MODE: "concurrent", ECHO_HOST: "127.0.0.1" });
    expect(server.out.all[0]).toContain("(mode concurrent)");
    const flagged = await startServer(["--mode", "sequential"], { ECHO_MODE: "concurrent" });
    expect(flagged.out.all[0]).toContain("(mode sequential)");
  });
});
