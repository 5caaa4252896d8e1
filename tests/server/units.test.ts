/** The small modules, on their own. */
import {
  LoopGuard,
  QUARANTINE_MS,
  QUICK_MS,
  WINDOW,
} from "../../src/server/features/udp-loop-guard.ts";
import { describe, expect, test } from "bun:test";
import { catalogs } from "../../src/messages/index.ts";
import { langFromEnv } from "../../src/messages/index.ts";
import { chooseLanguage } from "../../src/cli/command-line.ts";
import { Outbox } from "../../src/common/outbox.ts";
import { atTerminalLimit, lines, isStopWord } from "../../src/client/lines.ts";
import { preview, formatAddress } from "../../src/common/text.ts";
import { BadValue, port } from "../../src/cli/values.ts";
import { EchoTimeout, EchoWaiter } from "../../src/client/echo-waiter.ts";
import { DatagramEcho, QUEUED_DATAGRAM_COST } from "../../src/server/features/udp.ts";
import { sayTo } from "../../src/common/say.ts";
import { listening } from "../../src/server/features/unix-socket.ts";
import { randomBytes, sha256 } from "../helpers.ts";

/** A sink that takes at most `room` bytes per call, like a kernel buffer that fills up. */
function stingySink(takes: number[]) {
  const got: number[] = [];
  return {
    got,
    write(data: Uint8Array) {
      const n = Math.min(data.length, takes.shift() ?? data.length);
      got.push(...data.subarray(0, n));
      return n;
    },
  };
}

describe("Outbox", () => {
  test("keeps what write() did not take, in order, and flushes it", () => {
    const sink = stingySink([2, 0, 0, 1, 100]);
    const outbox = new Outbox();
    expect(outbox.send(sink, new Uint8Array([1, 2, 3, 4]))).toBe(false);
    expect(outbox.bytes).toBe(2);
    expect(outbox.send(sink, new Uint8Array([5, 6]))).toBe(false); // queued behind, not written
    expect(outbox.flush(sink)).toBe(false); // took 0
    expect(outbox.flush(sink)).toBe(false); // took 0
    expect(outbox.flush(sink)).toBe(false); // took 1 of [3, 4]
    expect(outbox.bytes).toBe(3);
    expect(outbox.flush(sink)).toBe(true);
    expect(sink.got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(outbox.empty).toBe(true);
  });

  test("one-byte pieces held for a reader that never reads cost about their bytes, not 200 times", () => {
    const live = () => {
      Bun.gc(true);
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = live();
    const outbox = new Outbox();
    // Each piece its own buffer, as Bun hands each data callback (a peer sending 1-byte segments).
    for (let i = 0; i < 256 * 1024; i++) outbox.send({ write: () => 0 }, Buffer.alloc(1, i));
    const grown = live() - before;
    expect(outbox.bytes).toBe(256 * 1024);
    // heapUsed and arrayBuffers both count a buffer: a large piece measures about 2x here.
    expect(grown / outbox.bytes).toBeLessThan(4);
  });

  test("small and large pieces, partly written at random, come out exact and in order", () => {
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const sent: number[] = [];
    const got: number[] = [];
    const sink = {
      write(data: Uint8Array) {
        const n = random(4) === 0 ? 0 : Math.min(data.length, random(9000));
        got.push(...data.subarray(0, n));
        return n;
      },
    };
    const outbox = new Outbox();
    for (let i = 0; i < 3000; i++) {
      const size = random(3) === 0 ? 1 + random(10_000) : 1 + random(50);
      const piece = Buffer.alloc(size, i % 251);
      sent.push(...piece);
      outbox.send(sink, piece);
      if (random(5) === 0) outbox.flush(sink);
    }
    while (!outbox.flush(sink));
    expect(outbox.bytes).toBe(0);
    expect(got.length).toBe(sent.length);
    expect(Buffer.from(got).equals(Buffer.from(sent))).toBe(true);
  });

  test("a write that returns -1 marks the outbox broken", () => {
    const outbox = new Outbox();
    expect(outbox.send({ write: () => -1 }, new Uint8Array([1]))).toBe(false);
    expect(outbox.broken).toBe(true);
    expect(outbox.clear()).toBe(1);
  });

  test("Bun gives each data callback its own buffer (queuing subarrays depends on it)", async () => {
    const payload = randomBytes(8 << 20);
    const chunks: Uint8Array[] = [];
    const { promise: done, resolve } = Promise.withResolvers<void>();
    using listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        binaryType: "uint8array",
        data(_socket, chunk: Uint8Array) {
          chunks.push(chunk); // kept without copying, as the server's outbox does
        },
        end: () => resolve(),
      },
    });
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port: listener.port,
      socket: { data() {}, drain: () => flush() },
    });
    let at = 0;
    const flush = () => {
      while (at < payload.length) {
        const n = client.write(payload.subarray(at, at + (1 << 20)));
        if (n <= 0) return;
        at += n;
      }
      client.shutdown();
    };
    flush();
    await done;
    client.end();
    expect(chunks.length).toBeGreaterThan(1);
    expect(sha256(chunks)).toBe(sha256(payload)); // a reused buffer would have been overwritten
  });
});

describe("DatagramEcho", () => {
  const quietEcho = (maxBuffer: number) =>
    new DatagramEcho(catalogs.en, sayTo({ logLevel: "warn", trace: false }), { maxBuffer });
  type UdpSocket = Parameters<NonNullable<DatagramEcho["handler"]["data"]>>[0];
  const datagram = (echo: DatagramEcho, socket: UdpSocket, data: Buffer, port: number) =>
    echo.handler.data!(socket, data, port, "127.0.0.1", {} as never);
  /** A UDP socket whose kernel buffer stays full (a slow egress): it takes nothing. */
  const full = { send: () => false } as unknown as UdpSocket;

  test("empty datagrams cost their entry: the queue stops at --max-buffer, not at 0 bytes", () => {
    const echo = quietEcho(64 * 1024);
    // From many senders: one sending the same bytes that fast would be taken for a loop.
    for (let i = 0; i < 10_000; i++) datagram(echo, full, Buffer.alloc(0), 20_000 + i);
    const held = 10_000 - echo.stats.dropped;
    expect(held).toBe(Math.floor((64 * 1024) / QUEUED_DATAGRAM_COST));
  });

  test("a datagram from the server's own port or an echo-like service's is never echoed", () => {
    const echo = quietEcho(64 * 1024);
    echo.ownPort = 5000;
    const sent: number[] = [];
    const socket = {
      send: (_: Buffer, port: number) => sent.push(port) > 0,
    } as unknown as typeof full;
    for (const port of [5000, 7, 9, 13, 17, 19, 37, 0, 41_000])
      datagram(echo, socket, Buffer.from("x"), port);
    expect(sent).toEqual([41_000]);
    expect(echo.stats.refused).toBe(8);
    expect(echo.stats.datagrams).toBe(9);
  });
});

describe("a live --unix path, looked up in /proc/net/unix", () => {
  const table = [
    "Num       RefCount Protocol Flags    Type St Inode Path",
    "00000000c557ca23: 00000002 00000000 00010000 0001 01 230318 /tmp/live.sock",
    "00000000c557ca24: 00000003 00000000 00000000 0001 03 230319 /tmp/connected.sock",
    "00000000c557ca25: 00000002 00000000 00010000 0001 01  4242 /tmp/two",
    "lines.sock",
    "00000000c557ca26: 00000002 00000000 00010000 0002 01 230320 /tmp/datagram.sock",
  ].join("\n");
  test("a listening stream socket is found by its path, a newline in it too", () => {
    expect(listening("/tmp/live.sock", table)).toBe(true);
    expect(listening("/tmp/two\nlines.sock", table)).toBe(true);
  });
  test("a connected socket, a datagram socket, a prefix, an empty table: not listening", () => {
    expect(listening("/tmp/connected.sock", table)).toBe(false);
    expect(listening("/tmp/datagram.sock", table)).toBe(false);
    expect(listening("/tmp/live", table)).toBe(false);
    expect(listening("/tmp/two", table)).toBe(false);
    expect(listening("/tmp/live.sock", "")).toBe(false);
  });
});

describe("EchoWaiter", () => {
  test("waits for exactly the bytes sent, however they are cut; extra bytes are counted", async () => {
    const waiter = new EchoWaiter();
    const echo = waiter.expect(5, 1000);
    expect(waiter.push(new Uint8Array([104]))).toBe(0);
    expect(waiter.push(new Uint8Array([105, 33]))).toBe(0);
    expect(waiter.push(new Uint8Array([33, 10, 7, 7]))).toBe(2);
    expect([...(await echo)]).toEqual([104, 105, 33, 33, 10]);
    expect(waiter.push(new Uint8Array([1]))).toBe(1); // nothing awaited now
  });

  test("fails when no byte comes for the timeout", async () => {
    const waiter = new EchoWaiter();
    await expect(waiter.expect(3, 20)).rejects.toBeInstanceOf(EchoTimeout);
  });
});

describe("input lines", () => {
  async function* from(...items: string[]) {
    yield* items;
  }
  const collect = async (items: string[]) =>
    (await Array.fromAsync(lines(from(...items)))).map((l) => l.text);

  test("the empty line Bun adds at the end of input is dropped; real empty lines are kept", async () => {
    expect(await collect(["a", "b", ""])).toEqual(["a", "b"]);
    expect(await collect(["a", "", "b", ""])).toEqual(["a", "", "b"]);
    expect(await collect(["", ""])).toEqual([""]);
    expect(await collect([])).toEqual([]);
  });

  test("a last line with no newline after it is marked, so the echo can start on a new line", async () => {
    const all = await Array.fromAsync(lines(from("a", "b")));
    expect(all).toEqual([
      { text: "a", ended: true },
      { text: "b", ended: false },
    ]);
    expect((await Array.fromAsync(lines(from("a", "b", ""))))[1]).toEqual({
      text: "b",
      ended: true,
    });
  });

  test("the stop word is the whole line, in any case, spaces and CR aside", () => {
    expect(isStopWord("fim")).toBe(true);
    expect(isStopWord("  fim \r")).toBe(true);
    expect(isStopWord("FIM")).toBe(true);
    expect(isStopWord("Fim")).toBe(true);
    expect(isStopWord("fim!")).toBe(false);
    expect(isStopWord("fim fim")).toBe(false);
  });

  test("a line at the terminal's limit is counted in bytes, its CR aside", () => {
    expect(atTerminalLimit("a".repeat(4095), 4095)).toBe(true);
    expect(atTerminalLimit("a".repeat(4094) + "\r", 4095)).toBe(false);
    expect(atTerminalLimit("ç".repeat(2048), 4095)).toBe(true); // 4,096 bytes of UTF-8
  });
});

describe("text", () => {
  test("previews escape control bytes, quotes and invalid UTF-8, and keep valid text", () => {
    expect(preview(new TextEncoder().encode('oi "x"\\\n'))).toBe('"oi \\"x\\"\\\\\\n"');
    expect(preview(new Uint8Array([0, 7, 0xff, 0xc3]))).toBe('"\\0\\x07\\xff\\xc3"');
    expect(preview(new TextEncoder().encode("ação"))).toBe('"ação"');
    expect(preview(new TextEncoder().encode("a\u202eb"))).toBe('"a\\xe2\\x80\\xaeb"'); // bidi override
    expect(preview(new Uint8Array([0x61, 0xef, 0xbb, 0xbf, 0x62]))).toBe('"a\\xef\\xbb\\xbfb"'); // U+FEFF
    expect(preview(new Uint8Array(100).fill(65), 4)).toBe('"AAAA"…');
    // A big binary piece (a probe's 512 KiB) fits one terminal line, not four.
    const binary = new Uint8Array(512 * 1024).map((_, i) => 0x80 | (i & 0x7f));
    expect(preview(binary).length).toBeLessThanOrEqual(60);
    expect(preview(binary)).toEndWith("…");
    expect(preview(new TextEncoder().encode("x".repeat(40)))).toBe(`"${"x".repeat(40)}"`);
    // Cut by the preview inside a character: cut before it, not shown as a lone lead byte.
    const accents = new TextEncoder().encode("coração e pão");
    expect(preview(accents, 14)).toBe('"coração e p"…');
    expect(preview(accents, 5)).toBe('"cora"…');
    expect(preview(new TextEncoder().encode("ok ✓ fim"), 5)).toBe('"ok "…');
    // A character cut where the data itself ends, or an invalid one, is still shown escaped.
    expect(preview(accents.subarray(0, 14))).toBe('"coração e p\\xc3"');
    expect(preview(new Uint8Array([0x61, 0xc3, 0x41, 0x42]), 2)).toBe('"a\\xc3"…');
  });

  test("IPv6 addresses in brackets", () => {
    expect(formatAddress("::1", 5000)).toBe("[::1]:5000");
    expect(formatAddress("127.0.0.1", 5000)).toBe("127.0.0.1:5000");
  });

  test("ports from 0 to 65535", () => {
    expect(port("0")).toBe(0);
    expect(port("65535")).toBe(65535);
  });

  test.each(["", "1e3", "0x10", "65536", "-1", "1.5"])("port %p is refused", (bad) => {
    expect(() => port(bad)).toThrow(BadValue);
  });
});

describe("languages", () => {
  test("every message exists in both catalogs, with the same kind of value", () => {
    const { en, pt } = catalogs;
    const same = (a: Record<string, unknown>, b: Record<string, unknown>, path: string) => {
      expect({ path, keys: Object.keys(b).sort() }).toEqual({ path, keys: Object.keys(a).sort() });
      for (const [key, value] of Object.entries(a)) {
        expect({ path: `${path}.${key}`, type: typeof b[key] }).toEqual({
          path: `${path}.${key}`,
          type: typeof value,
        });
        if (typeof value === "function" && key !== "closed")
          expect((b[key] as Function).length).toBe(value.length);
        if (typeof value === "object" && path === "" && key !== "metavar")
          same(value as Record<string, unknown>, b[key] as Record<string, unknown>, key);
      }
    };
    same(en, pt, "");
  });

  test("--lang, then LC_ALL, LC_MESSAGES, LANG", () => {
    expect(langFromEnv({ LANG: "pt_BR.UTF-8" })).toBe("pt");
    expect(langFromEnv({ LC_ALL: "C", LANG: "pt_BR.UTF-8" })).toBe("en");
    expect(langFromEnv({ LC_ALL: "", LC_MESSAGES: "pt_PT", LANG: "en_US" })).toBe("pt");
    expect(chooseLanguage(["--lang", "en"], { LANG: "pt_BR" }).lang).toBe("en");
    expect(chooseLanguage(["--lang=pt"], {}).lang).toBe("pt");
  });
});

describe("the UDP loop guard (src/server/features/udp-loop-guard.ts)", () => {
  /** Datagrams in flight between us and another echo, one handled every 3 µs (loopback's pace). */
  const loop = (inFlight: number) => {
    const guard = new LoopGuard();
    const payloads = Array.from({ length: inFlight }, (_, i) => Buffer.from(`forged ${i}`));
    const alive = new Set(payloads);
    let [now, datagrams] = [0, 0];
    while (alive.size > 0 && datagrams < 100_000)
      for (const p of [...alive]) {
        now += 0.003;
        datagrams++;
        if (guard.refuses(p, 7777, "127.0.0.1", now)) alive.delete(p); // not echoed: that loop ends
      }
    return datagrams;
  };

  test.each([1, 2, 8, 300])("%d datagrams looping at once all stop", (inFlight) => {
    expect(loop(inFlight)).toBeLessThanOrEqual(2 * inFlight + 2 * WINDOW);
  });

  test("a client repeating the same bytes every 10 ms, or sending ever new ones fast, loses none", () => {
    const guard = new LoopGuard();
    let refused = 0;
    for (let i = 0; i < 1000; i++)
      if (guard.refuses(Buffer.from("heartbeat"), 40_000, "127.0.0.1", i * 10)) refused++;
    for (let i = 0; i < 100_000; i++)
      if (guard.refuses(Buffer.from(`n${i}`), 40_001, "127.0.0.1", 20_000 + i * 0.001)) refused++;
    expect(refused).toBe(0);
  });

  test("the same bytes straight back, again and again: refused for QUARANTINE_MS, then heard again", () => {
    const guard = new LoopGuard();
    const at = (i: number) => i * (QUICK_MS / 2);
    const verdicts = Array.from({ length: 2 * WINDOW }, (_, i) =>
      guard.refuses(Buffer.from("x"), 40_002, "127.0.0.1", at(i)),
    );
    expect(verdicts.indexOf(true)).toBe(WINDOW - 1);
    const later = at(WINDOW - 1) + QUARANTINE_MS;
    expect(guard.refuses(Buffer.from("x"), 40_002, "127.0.0.1", later)).toBe(false);
  });
});
