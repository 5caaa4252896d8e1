/** RFC 862's other half, UDP, and Unix-domain sockets: the same exactness over other roads. */
import { describe, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogs } from "../../src/messages/index.ts";
import { DatagramEcho, QUEUED_DATAGRAM_COST } from "../../src/server/features/udp.ts";
import { WINDOW } from "../../src/server/features/udp-loop-guard.ts";
import { sayTo } from "../../src/common/say.ts";
import {
  BUN,
  concurrently,
  have,
  randomBytes,
  run,
  runCommand,
  sha256,
  startServer,
  TEST_TIMEOUT_MS,
  type Child,
} from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "echo-unix-"));
const MiB = 1 << 20;

/** A Python program, run with the port (or path) as its argument; prints its result. */
function python(code: string, ...args: string[]): Child {
  return runCommand(["python3", "-c", code, ...args]);
}

describe("UDP server", () => {
  concurrently.skipIf(!have("socat") || !have("nc"))(
    "socat and nc -u get their datagrams back; the log shows sender, size and preview",
    async () => {
      const server = await startServer(["--udp"]);
      expect(server.out.all[0]).toBe(`listening on 127.0.0.1:${server.port} (UDP)`);
      const socat = runCommand(["socat", "-t1", "-", `UDP4:127.0.0.1:${server.port}`], {
        stdin: "hello\n",
      });
      expect(await socat.exited).toBe(0);
      expect(socat.out.all).toEqual(["hello"]);
      const nc = runCommand(["nc", "-u", "-w1", "127.0.0.1", String(server.port)], {
        stdin: "via nc\n",
      });
      await nc.out.waitFor("via nc");
      await server.out.waitFor(/^127\.0\.0\.1:\d+ sent 6 bytes: "hello\\n"$/);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.out.all.at(-1)).toMatch(/^stopped: 2 datagrams, 13 bytes echoed, 0 dropped/);
    },
  );

  // A forged source needs a raw socket (root): Bun's UDP socket is bound without SO_REUSEADDR,
  // so nothing else can send from its port. Arguments: the port to send to, then each source port.
  const FORGE = `
import socket, struct, sys
dport = int(sys.argv[1])
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i, sport in enumerate(map(int, sys.argv[2:])):
    payload = b"loop%d" % i
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
    raw.sendto(ip + udp, ("127.0.0.1", 0))
`;
  concurrently.skipIf(process.getuid?.() !== 0 || !have("python3"))(
    "a datagram forged from the server's own port, or from echo (7) or chargen (19), is refused and counted, not looped",
    async () => {
      const server = await startServer(["--udp", "--http-port", "0"]);
      const http = Number(/:(\d+)\//.exec(await server.out.waitFor(/^health and metrics on/))![1]);
      const forge = python(FORGE, String(server.port), String(server.port), "7", "19");
      expect(await forge.exited).toBe(0);
      // One line for the first, then (within a second) the others counted in one line.
      await server.out.waitFor(`refused a datagram from 127.0.0.1:${server.port}:`);
      await server.out.waitFor("refused 2 more datagrams in the last second");
      // Still serving, and not busy echoing itself: the health port answers, a client gets its echo.
      const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      expect(metrics).toContain("\necho_datagrams_refused_total 3\n");
      const client = python(
        `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"still here", ("127.0.0.1", int(sys.argv[1])))
print(s.recv(100).decode())
`,
        String(server.port),
      );
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["still here"]);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.out.all.at(-1)).toMatch(/, 3 refused \(echo loop\), up /);
      expect(server.out.count(/ sent 5 bytes: "loop\d"$/)).toBe(0);
    },
  );

  concurrently.skipIf(process.getuid?.() !== 0 || !have("python3"))(
    "two servers given 8 datagrams forged from each other: the bounce stops within a few windows",
    async () => {
      const [a, b] = await Promise.all(
        [0, 1].map(() => startServer(["--udp", "--http-port", "0", "--log-level", "warn"])),
      );
      const metricsOf = async (server: Awaited<ReturnType<typeof startServer>>) => {
        const line = await server.out.waitFor(/^health and metrics on/);
        const http = Number(/:(\d+)\//.exec(line)![1]);
        const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
        return Number(/\necho_datagrams_total (\d+)\n/.exec(text)![1]);
      };
      const K = 8; // datagrams in flight at once: each one a loop of its own
      const forge = python(FORGE, String(a!.port), ...Array<string>(K).fill(String(b!.port)));
      expect(await forge.exited).toBe(0);
      await Promise.race([a!.out, a!.err, b!.out, b!.err].map((l) => l.waitFor("could loop")));
      // Then 200 round trips with a real client: were the bounce still going, A would have
      // counted thousands more meanwhile.
      const client = python(
        `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1]))); s.settimeout(5)
for i in range(200):
    s.send(b"%d" % i); assert s.recv(100) == b"%d" % i
print("ok")
`,
        String(a!.port),
      );
      expect(await client.exited).toBe(0);
      const [fromA, fromB] = [await metricsOf(a!), await metricsOf(b!)];
      expect(fromA).toBeLessThanOrEqual(2 * K + 2 * WINDOW + 200);
      expect(fromB).toBeLessThanOrEqual(2 * K + 2 * WINDOW);
      for (const server of [a!, b!]) server.proc.kill("SIGTERM");
      expect([await a!.exited, await b!.exited]).toEqual([0, 0]);
    },
  );

  concurrently(
    "all 256 byte values, the largest datagram, and thousands from several senders: each back to its own sender, exact",
    async () => {
      const server = await startServer(["--udp", "--quiet"]);
      const check = python(
        `
import socket, sys, random, os
port = int(sys.argv[1])
def echo(s, data):
    s.send(data)
    return s.recv(70000)
one = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); one.connect(("127.0.0.1", port)); one.settimeout(5)
assert echo(one, bytes(range(256))) == bytes(range(256)), "256 values"
big = os.urandom(65507)
assert echo(one, big) == big, "largest datagram"
senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(6)]
for s in senders: s.connect(("127.0.0.1", port)); s.settimeout(5)
random.seed(7)
n = 0
for round in range(500):
    sent = []
    for s in senders:
        d = os.urandom(random.randint(1, 1400)); s.send(d); sent.append(d)
    for s, d in zip(senders, sent):
        got = s.recv(2000)
        assert got == d, "mismatch"
        n += 1
print("ok", n)
`,
        String(server.port),
      );
      expect(await check.exited).toBe(0);
      expect(check.out.all).toEqual(["ok 3000"]);
    },
  );

  concurrently(
    "a full kernel buffer: echoes wait in a queue bounded by --max-buffer, the rest are dropped and counted",
    () => {
      // send() refusing happens when the kernel's buffer is full, which loopback never shows:
      // the queue's rule is checked against a socket that refuses, then takes everything.
      const say = sayTo({ logLevel: "warn", trace: false });
      const echo = new DatagramEcho(catalogs.en, say, {
        maxBuffer: 3 * (1000 + QUEUED_DATAGRAM_COST), // each queued datagram also costs its entry
      });
      const sent: number[] = [];
      let accepting = false;
      const socket = {
        send: (data: Uint8Array) => (accepting ? (sent.push(data.length), true) : false),
      } as never;
      for (let i = 0; i < 5; i++)
        echo.handler.data!(socket, Buffer.alloc(1000, i), 4000, "127.0.0.1", {
          truncated: false,
          ipv6: false,
        });
      expect(echo.stats).toMatchObject({ datagrams: 5, bytes: 0, dropped: 2 });
      accepting = true;
      echo.handler.drain!(socket);
      expect(sent).toEqual([1000, 1000, 1000]);
      expect(echo.stats).toMatchObject({ bytes: 3000, dropped: 2 });
    },
  );

  concurrently.each([
    [
      ["--udp", "--mode", "once"],
      "--udp serves every sender at once (datagrams have no connection): --mode once does not apply",
    ],
    [
      ["--udp", "--mode", "sequential"],
      "--udp serves every sender at once (datagrams have no connection): --mode sequential does not apply",
    ],
    [["--udp", "--tls-cert", "c.pem", "--tls-key", "k.pem"], "--udp does not go with --tls-cert"],
    [["--udp", "--unix", "/tmp/x.sock"], "--udp does not go with --unix"],
    [["--udp", "--mode", "concurrent", "--workers", "2"], "--udp does not go with --workers"],
    [["--udp", "--hexdump"], "--udp does not go with --hexdump"],
  ])("server %p: exit 2, one line", async (args, message) => {
    const server = run("server.ts", ["--port", "0", ...args]);
    expect(await server.exited).toBe(2);
    expect(server.err.all).toEqual([`error: ${message} (see: bun run server --help)`]);
  });
});

describe("UDP client", () => {
  /** A UDP echo that drops, duplicates and delays on purpose (seeded), in another language. */
  const lossy = `
import socket, random, time, threading
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
random.seed(3)
seen = 0
while True:
    data, addr = s.recvfrom(70000)
    seen += 1
    if seen % 3 == 1: continue                       # drop every first try
    s.sendto(data, addr)
    if seen % 2 == 0: s.sendto(data, addr)           # and duplicate some
    if seen % 5 == 0: threading.Timer(0.05, s.sendto, (data, addr)).start()  # a late copy
`;

  concurrently("loss, duplicates and late copies: every echo printed once, in order", async () => {
    const server = python(lossy);
    const port = (await server.out.waitFor(/^\d+$/)).trim();
    const lines = Array.from({ length: 8 }, (_, i) => `mensagem ${i} ação`);
    const client = run("client.ts", ["--udp", "--port", port], { stdin: lines.join("\n") + "\n" });
    expect(await client.exited).toBe(0);
    expect(client.out.all).toEqual(lines);
    expect(client.err.text).not.toContain("warning");
  });

  concurrently("a stray datagram just before the echo is not taken for it", async () => {
    const server = python(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    data, addr = s.recvfrom(70000)
    s.sendto(b"junk\\n", addr)   # something else first
    s.sendto(data, addr)
`);
    const port = (await server.out.waitFor(/^\d+$/)).trim();
    const client = run("client.ts", ["--udp", "--port", port], { stdin: "um\ndois\n" });
    expect(await client.exited).toBe(0);
    expect(client.out.all).toEqual(["um", "dois"]);
    expect(client.err.text).not.toContain("differs");
  });

  concurrently("nobody listening: said as port unreachable, not a timeout", async () => {
    const gone = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const port = gone.port;
    gone.close();
    const client = run("client.ts", ["--udp", "--port", String(port)], { stdin: "x\n" });
    expect(await client.exited).toBe(1);
    expect(client.err.all.at(-1)).toBe(
      `error: nobody listens on UDP 127.0.0.1:${port} (the machine answered "port unreachable")`,
    );
  });

  concurrently("a server that never answers: --retries, then one line and exit 1", async () => {
    const silent = python(`
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True: s.recvfrom(70000)
`);
    const port = (await silent.out.waitFor(/^\d+$/)).trim();
    const client = run("client.ts", ["--udp", "--port", port, "--retries", "1"], {
      stdin: "x\n",
    });
    expect(await client.exited).toBe(1);
    expect(client.err.all.at(-1)).toBe(
      `error: no echo from 127.0.0.1:${port} after 2 tries; UDP may lose datagrams, or no server is there (see --retries)`,
    );
  });

  concurrently("a line longer than one datagram can carry: one line, exit 1", async () => {
    const server = await startServer(["--udp", "--quiet"]);
    const client = run("client.ts", ["--udp", "--port", String(server.port)], {
      stdin: "x".repeat(70_000) + "\n",
    });
    expect(await client.exited).toBe(1);
    expect(client.err.all.at(-1)).toBe(
      "error: this line is 70,001 bytes with its newline; one UDP datagram carries at most 65,507",
    );
  });

  concurrently.each([
    [["--udp", "--tls"], "--udp does not go with --tls"],
    [["--udp", "--hexdump"], "--udp does not go with --hexdump"],
    [["--retries", "2"], "--retries only makes sense with --udp"],
    [["--udp", "--retries", "99"], '--retries must be a whole number from 0 to 20, not "99"'],
    [["--unix", "/tmp/x.sock", "--port", "5"], "--unix does not go with --port"],
  ])("client %p: exit 2, one line", async (args, message) => {
    const client = run("client.ts", [...args]);
    expect(await client.exited).toBe(2);
    expect(client.err.all).toEqual([`error: ${message} (see: bun run client --help)`]);
  });
});

describe("Unix-domain sockets", () => {
  concurrently(
    "8 MiB with half-close through a Unix socket, exact; the file goes when the server does",
    async () => {
      const path = join(dir, "big.sock");
      const server = await startServerOn(path, ["--mode", "concurrent", "--quiet"]);
      const data = randomBytes(8 * MiB); // some 20 times what a Unix socket's buffers hold
      const socket = netConnect({ path, allowHalfOpen: true });
      const got: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => got.push(chunk));
      const ended = new Promise((resolve) => socket.once("end", resolve));
      socket.end(data);
      await ended;
      socket.destroy();
      expect(sha256(Buffer.concat(got))).toBe(sha256(data));
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(existsSync(path)).toBe(false);
    },
  );

  concurrently.skipIf(!have("socat") || !have("nc"))(
    "socat, nc -U and our client; each mode applies",
    async () => {
      const path = join(dir, "peers.sock");
      const server = await startServerOn(path, ["--mode", "sequential"]);
      const socat = runCommand(["socat", "-", `UNIX-CONNECT:${path}`], { stdin: "socat\n" });
      expect(await socat.exited).toBe(0);
      expect(socat.out.all).toEqual(["socat"]);
      const nc = runCommand(["nc", "-N", "-U", path], { stdin: "nc\n" });
      expect(await nc.exited).toBe(0);
      expect(nc.out.all).toEqual(["nc"]);
      const client = run("client.ts", ["--unix", path], { stdin: "oi\nfim\n" });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["oi"]);
      expect(server.out.text).toContain("#1 connected from a local process");
    },
  );

  concurrently(
    "a stale socket file is replaced; a live one is refused, its server untouched",
    async () => {
      const path = join(dir, "stale.sock");
      const crashed = await startServerOn(path, ["--mode", "concurrent", "--quiet"]);
      crashed.proc.kill("SIGKILL"); // leaves its socket file behind
      await crashed.exited;
      expect(existsSync(path)).toBe(true);
      const server = await startServerOn(path, ["--mode", "concurrent"]);
      const second = run("server.ts", ["--unix", path]);
      expect(await second.exited).toBe(1);
      expect(second.err.all).toEqual([
        `error: a server already answers on ${path}; stop it first, or choose another --unix path`,
      ]);
      const client = run("client.ts", ["--unix", path], { stdin: "ainda aqui\n" });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["ainda aqui"]);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      // The second server's look at the path was no client: the only connection is the client's.
      expect(server.out.all.filter((line) => line.includes("connected from"))).toEqual([
        "#1 connected from a local process",
      ]);
    },
  );

  concurrently(
    "a path with a newline is printed escaped: the listening line stays one line",
    async () => {
      const path = join(dir, "two\nlines.sock");
      const shown = `"${dir}/two\\nlines.sock"`;
      const server = runCommand([BUN, "server.ts", "--unix", path, "--mode", "concurrent"]);
      expect(await server.out.waitFor(/^listening on /)).toBe(
        `listening on ${shown} (mode concurrent)`,
      );
      const second = run("server.ts", ["--unix", path]);
      expect(await second.exited).toBe(1);
      expect(second.err.all).toEqual([
        `error: a server already answers on ${shown}; stop it first, or choose another --unix path`,
      ]);
      const client = run("client.ts", ["--unix", path], { stdin: "oi\n" });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["oi"]);
      expect(client.err.text).toContain(`connected to ${shown};`);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );

  concurrently(
    "a server in mode once that exits leaves alone the socket file a newer server made",
    async () => {
      const path = join(dir, "handover.sock");
      const once = await startServerOn(path, []);
      const client = netConnect({ path }); // once's one client: once stops listening
      await once.out.waitFor("no longer accepting");
      const next = await startServerOn(path, ["--mode", "concurrent"]); // replaces the file
      client.destroy();
      expect(await once.exited).toBe(0);
      expect(existsSync(path)).toBe(true); // once removed only its own file, which is gone
      const check = run("client.ts", ["--unix", path], { stdin: "still\n" });
      expect(await check.exited).toBe(0);
      expect(check.out.all).toEqual(["still"]);
      next.proc.kill("SIGTERM");
      expect(await next.exited).toBe(0);
      expect(existsSync(path)).toBe(false);
    },
  );

  concurrently(
    "a server stopped while a newer one owns the path does not cut the newer one off",
    async () => {
      const path = join(dir, "newer.sock");
      const old = await startServerOn(path, ["--mode", "concurrent"]);
      rmSync(path); // someone clears the path, and a second server takes it
      const next = await startServerOn(path, ["--mode", "concurrent"]);
      old.proc.kill("SIGTERM"); // stopping, it stops listening: Bun removes the path by name
      expect(await old.exited).toBe(0);
      const check = run("client.ts", ["--unix", path], { stdin: "still\n" });
      expect(await check.exited).toBe(0);
      expect(check.out.all).toEqual(["still"]);
      next.proc.kill("SIGTERM");
      expect(await next.exited).toBe(0);
      expect(readdirSync(dir).filter((f) => f.startsWith("newer.sock"))).toEqual([]);
    },
  );

  concurrently.each([
    ["a missing directory", () => "/nonexistent-dir/echo.sock", "its directory does not exist"],
    [
      "a file where its directory should be",
      () => (writeFileSync(join(dir, "afile"), "x"), join(dir, "afile", "echo.sock")),
      "(or is not a directory)",
    ],
    [
      "a file that is not a socket",
      () => (writeFileSync(join(dir, "plain"), "x"), join(dir, "plain")),
      "exists and is not a socket",
    ],
  ])("%s: one line, exit 1", async (_what, path, words) => {
    const server = run("server.ts", ["--unix", path()]);
    expect(await server.exited).toBe(1);
    expect(server.err.all).toHaveLength(1);
    expect(server.err.all[0]).toContain(words);
  });

  concurrently("the client: no socket there is one line, exit 1", async () => {
    const path = join(dir, "none.sock");
    const client = run("client.ts", ["--unix", path], { stdin: "x\n" });
    expect(await client.exited).toBe(1);
    expect(client.err.all).toEqual([
      `error: no socket at ${path}; start the server first (bun run server --unix ${path})`,
    ]);
  });
});

/** Starts the server on a Unix socket and waits for its listening line. */
async function startServerOn(path: string, args: string[]) {
  const server = runCommand([BUN, "server.ts", "--unix", path, ...args]);
  await server.out.waitFor(`listening on ${path}`);
  return server;
}

describe("UDP server, alone", () => {
  // Alone: the kernel rate-limits ICMP errors machine-wide, and the UDP tests beside it would
  // use up what it lets through, leaving this one no "port unreachable" to meet.
  test(
    "senders that leave (ICMP port unreachable) cannot stop the service",
    async () => {
      const server = await startServer(["--udp"]);
      const leavers = python(
        `
import socket, sys
port = int(sys.argv[1])
for i in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"bye", ("127.0.0.1", port)); s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("127.0.0.1", port)); s.settimeout(5)
s.send(b"still there?"); print(s.recv(100).decode())
`,
        String(server.port),
      );
      expect(await leavers.exited).toBe(0);
      expect(leavers.out.all).toEqual(["still there?"]);
      server.proc.kill("SIGINT");
      expect(await server.exited).toBe(0);
      expect(server.out.all.at(-1)).toMatch(
        /^stopped: 201 datagrams, [\d,]+ bytes echoed, 0 dropped \(queue full\), [1-9][\d,]* to senders gone/,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
