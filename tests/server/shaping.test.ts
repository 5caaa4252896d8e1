/**
 * The shaped echo (--slice, --slice-random, --delay, --rate, --close-after, --reset-after,
 * --seed), read by real clients: Python's recv() sees the pieces apart, every byte comes back in
 * order, the FIN after the last piece; the limits close or reset; a seed repeats its pieces; and a
 * client that never reads still costs at most --max-buffer.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  concurrently,
  Peer,
  randomBytes,
  run,
  runCommand,
  sha256,
  startServer,
  TRACE_ONLY,
  until,
} from "../helpers.ts";
import { listeningAddress, rssBytes } from "../support/processes.ts";
import type { Socket } from "bun";
import { type Conn, newConn } from "../../src/server/connection.ts";
import { PIECES_PER_TURN, Shaper, type Shaping } from "../../src/server/features/shaping.ts";
import { catalogs } from "../../src/messages/index.ts";

const MiB = 1 << 20;

/**
 * A Python client: sends its argument, half-closes, and reads to the end, printing one JSON
 * line: the size of each recv(), the bytes as hex, and how it ended (eof or reset).
 */
const READER = `
import json, socket, sys
where, data = sys.argv[1], sys.argv[2].encode()
s = socket.socket(socket.AF_UNIX) if where.startswith("/") else socket.socket()
s.connect(where if where.startswith("/") else ("127.0.0.1", int(where)))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
sizes, got, end = [], b"", "eof"
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        end = "reset"
        break
    if not b:
        break
    sizes.append(len(b))
    got += b
print(json.dumps({"sizes": sizes, "hex": got.hex(), "end": end}))
`;

interface Read {
  sizes: number[];
  got: string;
  end: "eof" | "reset";
}

async function pythonReads(where: string | number, text: string): Promise<Read> {
  const child = runCommand(["python3", "-c", READER, String(where), text]);
  expect(await child.exited).toBe(0);
  const { sizes, hex, end } = JSON.parse(child.out.text);
  return { sizes, got: Buffer.from(hex, "hex").toString("utf8"), end };
}

const LINE = "olá, mundo: ação e coração\n"; // multi-byte characters cut across pieces

describe("the shaped echo", () => {
  concurrently(
    "--slice 1 --delay 0.01: recv() sees the echo in many pieces, every byte back in order, FIN after the last",
    async () => {
      const server = await startServer([...TRACE_ONLY, "--slice", "1", "--delay", "0.01"]);
      expect(server.out.all[0]).toContain("echo shaped: --slice 1 --delay 0.01");
      const read = await pythonReads(server.port, LINE);
      expect(read.got).toBe(LINE);
      expect(read.end).toBe("eof");
      const bytes = Buffer.byteLength(LINE);
      // 10 ms apart, one byte each: the reader cannot have merged many of them.
      expect(read.sizes.length).toBeGreaterThan(bytes / 2);
      expect(Math.max(...read.sizes)).toBeLessThanOrEqual(2);
      // --trace shows each piece as its own write, then the end after the last one.
      await server.err.waitFor(/#1 close/);
      const writes = server.err.all.filter((l) => /#1 write /.test(l));
      expect(writes.length).toBe(bytes);
      expect(writes.every((l) => l.endsWith("write 1/1"))).toBe(true);
    },
  );

  concurrently("over a Unix socket too", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "echo-shape-")), "s.sock");
    const child = run("server.ts", ["--unix", path, "--slice", "2", "--delay", "0.02"]);
    await child.out.waitFor(/listening on/);
    const read = await pythonReads(path, LINE);
    expect(read.got).toBe(LINE);
    // 16 pieces 20 ms apart: a reader that is not starved sees most of them on their own (how
    // many exactly is the scheduler's business on a loaded machine, so only "several").
    expect(read.sizes.length).toBeGreaterThan(3);
  });

  concurrently(
    "--close-after 5: exactly 5 bytes, then the end (FIN); --reset-after 5: 5 bytes, then a reset",
    async () => {
      const closing = await startServer(["--close-after", "5"]);
      const closed = await pythonReads(closing.port, "hello, world\n");
      expect(closed).toEqual({ sizes: [5], got: "hello", end: "eof" });
      await closing.out.waitFor(/closed: 5 bytes echoed .*--close-after.*8 bytes of echo not/);

      const resetting = await startServer(["--reset-after", "5"]);
      const reset = await pythonReads(resetting.port, "hello, world\n");
      expect(reset.end).toBe("reset");
      expect(reset.got).toBe("hello".slice(0, reset.got.length)); // never more than 5, in order
      await resetting.out.waitFor(/closed: 5 bytes echoed .*--reset-after/);
    },
  );

  concurrently(
    "--slice-random with a --seed: the same pieces on every connection and every run; another seed, others",
    async () => {
      const data = "x".repeat(2000);
      const piecesOf = async (seed: string) => {
        const server = await startServer([
          ...TRACE_ONLY,
          ...["--slice", "100", "--slice-random", "--seed", seed],
        ]);
        expect(server.out.all[0]).toContain(`--seed ${seed}`);
        for (const id of [1, 2]) {
          expect((await pythonReads(server.port, data)).got).toBe(data);
          await server.err.waitFor(new RegExp(`#${id} close`));
        }
        const sizes = (id: number) =>
          server.err.all
            .filter((l) => l.includes(`#${id} write `))
            .map((l) => Number(/write (\d+)\//.exec(l)![1]));
        expect(sizes(1)).toEqual(sizes(2));
        expect(sizes(1).reduce((a, b) => a + b, 0)).toBe(2000);
        return sizes(1);
      };
      const [a, b, other] = await Promise.all([piecesOf("7"), piecesOf("7"), piecesOf("8")]);
      expect(a).toEqual(b);
      expect(new Set(a).size).toBeGreaterThan(3); // random sizes, not one size
      expect(other).not.toEqual(a);
    },
  );

  concurrently("--rate: the echo is paced, and still whole", async () => {
    const server = await startServer([...TRACE_ONLY, "--rate", "2000"]);
    const read = await pythonReads(server.port, "y".repeat(1000));
    expect(read.got).toBe("y".repeat(1000));
    // Pieces of a tenth of a second's worth: 200 bytes each.
    const writes = server.err.all.filter((l) => / write /.test(l));
    expect(writes.map((l) => /write (\d+)\//.exec(l)![1])).toEqual([
      "200",
      "200",
      "200",
      "200",
      "200",
    ]);
  });

  concurrently(
    "a delayed echo is bounded by --max-buffer: a client that sends 24 MiB and never reads pauses the server, memory stays low; then all comes back",
    async () => {
      const server = await startServer([
        ...TRACE_ONLY,
        ...["--max-buffer", "64k", "--slice", "16k", "--delay", "0.001"],
      ]);
      const baseline = rssBytes(server.proc.pid);
      const payload = randomBytes(24 * MiB);
      const peer = new Peer(server.port, "127.0.0.1", false);
      const sending = peer.send(payload).then(() => peer.finish());
      expect(await until(() => server.err.all.some((l) => / pause /.test(l)), 20_000)).toBe(true);
      let peak = 0;
      for (let i = 0; i < 10; i++) {
        await Bun.sleep(50); // sampling interval of a measurement, bounded
        peak = Math.max(peak, rssBytes(server.proc.pid));
      }
      expect(peak - baseline).toBeLessThan(24 * MiB); // holding it all would be 24 MiB and more
      peer.socket.resume();
      await sending;
      await peer.ended;
      expect(sha256(peer.all())).toBe(sha256(payload));
    },
  );
});

describe("shaping's usage errors", () => {
  concurrently.each([
    [["--udp", "--slice", "10"], "--udp does not go with --slice"],
    [["--slice-random"], "--slice-random only makes sense with --slice"],
    [["--slice", "4", "--seed", "3"], "--seed only makes sense with --slice-random"],
    [["--close-after", "4", "--reset-after", "3"], "--close-after does not go with --reset-after"],
    [["--slice", "0"], "--slice must be a number of bytes of at least 1, such as 1, 10 or 1k"],
    [["--delay", "-1"], "--delay must be a number of seconds such as 0.01 or 0.5, 0 for none"],
    [
      ["--rate", "x"],
      "--rate must be bytes a second such as 100, 10k or 1m (at most 1g), 0 for no",
    ],
  ])("%p", async (args, line) => {
    const child = run("server.ts", [...args, "--port", "0"]);
    expect(await child.exited).toBe(2);
    expect(child.err.text).toContain(line);
  });

  concurrently(
    "--delay 0 and --rate 0 ask for nothing: accepted, and not shown as shaping",
    async () => {
      const [alone, withSlice] = await Promise.all([
        startServer(["--delay", "0", "--rate", "0"]),
        startServer(["--delay", "0", "--rate", "0", "--slice", "2"]),
      ]);
      expect(alone.out.all[0]).not.toContain("shaped");
      expect(withSlice.out.all[0]).toContain("(mode once, echo shaped: --slice 2)");
    },
  );

  concurrently("off by default: no shaping in the listening line", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const { port } = await listeningAddress(server.out);
    expect(port).toBe(server.port);
    expect(server.out.all[0]).not.toContain("shaped");
  });
});

describe("the shaper, in-process (a clock and a kernel of the test's own)", () => {
  /** A shaper over a fake socket whose kernel takes at most `room` bytes a write. */
  function shaperWith(shape: Partial<Shaping>, room = Infinity) {
    const clock = { at: 0 };
    const writes: number[] = [];
    const ends: string[] = [];
    const socket = {
      data: newConn(1, 0),
      write: (data: Uint8Array) => {
        const n = Math.min(room, data.length);
        writes.push(n);
        return n;
      },
      shutdown: () => ends.push("shutdown"),
      end: () => ends.push("end"),
      terminate: () => ends.push("terminate"),
    } as unknown as Socket<Conn>;
    const full: Shaping = { random: false, delay: 0, seed: 1, ...shape };
    const shaper = new Shaper(full, socket, { now: 0 }, catalogs.en, {
      flush: () => {},
      now: () => clock.at,
    });
    return { shaper, clock, writes, ends, socket, setRoom: (n: number) => (room = n) };
  }
  const bytes = (n: number) => new Uint8Array(n);

  test("--slice without a delay: every piece now, one write each", () => {
    const { shaper, writes } = shaperWith({ slice: 3 });
    expect(shaper.write(bytes(10))).toBe(10);
    expect(writes).toEqual([3, 3, 3, 1]);
    shaper.stop();
  });

  test("--delay: nothing before it is due, then one piece; the next waits again", () => {
    const { shaper, clock, writes } = shaperWith({ slice: 3, delay: 0.01 });
    expect(shaper.write(bytes(10))).toBe(0); // a new echo waits its delay too
    clock.at = 9;
    expect(shaper.write(bytes(10))).toBe(0);
    clock.at = 10;
    expect(shaper.write(bytes(10))).toBe(3);
    clock.at = 15;
    expect(shaper.write(bytes(7))).toBe(0);
    clock.at = 20;
    expect(shaper.write(bytes(7))).toBe(3);
    expect(writes).toEqual([3, 3]);
    shaper.stop();
  });

  test("a piece the kernel took only part of is finished first, without a new delay", () => {
    const { shaper, clock, writes, setRoom } = shaperWith({ slice: 4, delay: 0.01 }, 1);
    clock.at = 10;
    shaper.write(bytes(8)); // not busy: waits until 10 + 10
    clock.at = 20;
    expect(shaper.write(bytes(8))).toBe(1); // 1 of the 4-byte piece
    setRoom(Infinity);
    expect(shaper.write(bytes(7))).toBe(3); // the rest of that piece, at once
    expect(writes).toEqual([1, 3]);
    shaper.stop();
  });

  test("--rate with a larger --slice: still a tenth of a second's worth at once", () => {
    const { shaper } = shaperWith({ rate: 1000, slice: 1 << 20 });
    expect(shaper.write(bytes(300))).toBe(100);
    shaper.stop();
  });

  test("--slice 1 without a delay: the other connections get a turn every PIECES_PER_TURN", () => {
    const { shaper, writes } = shaperWith({ slice: 1 });
    expect(shaper.write(bytes(1000))).toBe(PIECES_PER_TURN);
    expect(writes.length).toBe(PIECES_PER_TURN);
    shaper.stop();
  });

  test("an echo the server holds back (--delay) is not silence: idle counts from its piece", () => {
    const { shaper, socket } = shaperWith({ slice: 3, delay: 4 });
    expect(shaper.write(bytes(6))).toBe(0);
    expect(socket.data.seen).toBeGreaterThanOrEqual(4000); // the coarse clock is 0 here
    shaper.stop();
  });

  test("--rate: the next piece waits as long as the last one's bytes take", () => {
    const { shaper, clock } = shaperWith({ rate: 1000 }); // pieces of 100 bytes
    expect(shaper.write(bytes(300))).toBe(100);
    clock.at = 99;
    expect(shaper.write(bytes(200))).toBe(0);
    clock.at = 100;
    expect(shaper.write(bytes(200))).toBe(100);
    shaper.stop();
  });

  test("--close-after: never a byte past the limit, then the end", async () => {
    const { shaper, writes, ends } = shaperWith({ slice: 3, closeAfter: 5 });
    expect(shaper.write(bytes(10))).toBe(5);
    expect(writes).toEqual([3, 2]);
    expect(shaper.write(bytes(5))).toBe(0);
    await until(() => ends.length > 0, 1000);
    expect(ends).toEqual(["shutdown", "end"]);
  });

  test("--slice-random: the same seed, the same sizes; each within 1..slice", () => {
    const sizes = (seed: number) => {
      const { shaper, writes } = shaperWith({ slice: 50, random: true, seed });
      shaper.write(bytes(1000));
      shaper.stop();
      return writes;
    };
    expect(sizes(42)).toEqual(sizes(42));
    expect(sizes(42)).not.toEqual(sizes(43));
    expect(sizes(42).every((n) => n >= 1 && n <= 50)).toBe(true);
  });
});
