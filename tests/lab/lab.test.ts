/**
 * The lab as people meet it, and the promises an adversarial round broke: driven the way a person
 * (or a hostile peer) does, through `bun run` on a pseudo-terminal, at human pace, with slow
 * readers, resets, a small `ulimit -n`, and signals.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { listeningAddress } from "../support/processes.ts";
import {
  alive,
  BUN,
  childrenOf,
  concurrently,
  connectedPeer,
  have,
  httpPortOf,
  onTerminal,
  Peer,
  randomBytes,
  roundTrip,
  ROOT,
  run,
  runCommand,
  sha256,
  startServer,
  testServer,
  until,
} from "../helpers.ts";

const MiB = 1 << 20;

/** A client that reads its echo in small pieces with pauses: slower than drain can notice. */
async function slowReader(port: number, size: number, piece: number, everyMs: number) {
  const python = `
import socket, sys, time, hashlib
s = socket.create_connection(("127.0.0.1", ${port}))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
data = bytes(range(256)) * (${size} // 256)
s.setblocking(True)
import threading
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send).start()
got = hashlib.sha256(); n = 0
while True:
    chunk = s.recv(${piece})
    if not chunk: break
    got.update(chunk); n += len(chunk)
    time.sleep(${everyMs / 1000})
print(n, got.hexdigest() == hashlib.sha256(data).hexdigest())
`;
  const child = runCommand(["python3", "-c", python]);
  expect(await child.exited).toBe(0);
  return child.out.all[0];
}

describe("one Ctrl-C is one stop, through bun run on a terminal", () => {
  test.skipIf(!have("script"))(
    "a connected client finishes its echo; the command ends with status 0",
    async () => {
      // script(1) gives the server a real terminal: Ctrl-C there reaches the whole foreground
      // group (the shell, `bun run`, the server), and `bun run` forwards it once more.
      const terminal = onTerminal("bun run server --port 0 --mode concurrent");
      const { port } = await listeningAddress(terminal.out);
      const peer = new Peer(port);
      const data = randomBytes(2 * MiB);
      await peer.send(data.subarray(0, MiB));
      await peer.until(MiB);
      terminal.type("\x03"); // Ctrl-C
      await terminal.out.waitFor("stopping: no new connections; waiting for 1 open connection");
      await peer.send(data.subarray(MiB));
      peer.finish();
      await peer.ended;
      expect(sha256(peer.all())).toBe(sha256(data));
      expect(await terminal.exited).toBe(0);
      expect(terminal.out.text).not.toContain("closing 1 connection now");
      expect(terminal.out.text).toMatch(/stopped: 1 connection, 2,097,152 bytes echoed/);
    },
  );

  test.each([
    [
      "SIGTERM sent to bun run's own process",
      "SIGTERM",
      async () => {
        const runner = runCommand([BUN, "run", "server", "--port", "0", "--mode", "concurrent"]);
        return { ...runner, ...(await listeningAddress(runner.out)) };
      },
    ],
    ["SIGHUP (the terminal closed)", "SIGHUP", () => startServer(["--mode", "concurrent"])],
  ] as const)("%s: one graceful stop, status 0", async (_, signal, start) => {
    const server = await start();
    const peer = new Peer(server.port);
    await peer.send(randomBytes(1000));
    await peer.until(1000);
    server.proc.kill(signal);
    await server.out.waitFor("stopping");
    peer.finish();
    expect(await server.exited).toBe(0);
    expect(server.out.text).toContain("stopped: 1 connection, 1,000 bytes echoed");
    expect(server.err.text).toBe(""); // nothing on stderr, from `bun run` itself either
  });
});

// First of the side-by-side tests: the longest, it waits 5 s for the hang to be seen.
describe("--workers", () => {
  concurrently(
    "a worker that hangs makes /readyz 503 at once, is ended after 5 s and started again; every client is then served",
    async () => {
      const workers = ["--mode", "concurrent", "--workers", "2", "--quiet", "--http-port", "0"];
      const server = await startServer(workers);
      const http = await httpPortOf(server);
      const [hung, other] = childrenOf(server.proc.pid);
      process.kill(hung!, "SIGSTOP"); // alive, holding its share of the port, answering nothing
      // The kernel may hand it the next client: not ready, long before it is ended.
      while ((await fetch(`http://127.0.0.1:${http}/readyz`)).status === 200) await Bun.sleep(50);
      expect(server.err.text).not.toContain("has answered nothing");
      await server.err.waitFor(
        new RegExp(
          `^warning: worker \\d \\(pid ${hung}\\) has answered nothing for [\\d.]+ s; ending it$`,
        ),
      );
      await server.err.waitFor(/ended unexpectedly \(signal SIGKILL\); starting it again$/);
      await until(() => childrenOf(server.proc.pid).length === 2 && alive(other!));
      await until(() => !childrenOf(server.proc.pid).includes(hung!));
      // A new worker listens: with the hung one gone, no client lands where nobody answers.
      const echoes = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const peer = new Peer(server.port);
          const echo = await roundTrip(peer, `c${i}\n`);
          peer.close();
          return echo;
        }),
      );
      expect(echoes).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}\n`));
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );
});

/** CPU seconds a process uses in the next second (utime + stime, from /proc). */
async function cpuOver1s(pid: number): Promise<number> {
  const cpu = () => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const before = cpu();
  await Bun.sleep(1000); // a window to measure CPU in, not a wait for an event
  return cpu() - before;
}

describe.skipIf(!have("script"))("the client on a terminal", () => {
  const client = (port: number) => onTerminal(`${BUN} client.ts --port ${port}`);

  concurrently("Ctrl-D in the middle of a line: the echo starts on a line of its own", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const terminal = client(server.port);
    await terminal.prompts("> ");
    terminal.type("abc\x04\x04"); // the first Ctrl-D hands over "abc" unfinished; the second ends
    await server.out.waitFor("received 4 bytes");
    expect(await terminal.exited).toBe(0);
    expect(terminal.screen).toContain("> abc\r\nabc\r\n");
    expect(terminal.screen).not.toContain("abcabc");
  });

  concurrently(
    "an error that arrives while the prompt is showing starts on its own line",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const terminal = client(server.port);
      await terminal.prompts("> ");
      // Accepted first: a connection still in the kernel's backlog is reset, not closed.
      await server.out.waitFor("#1 connected");
      server.proc.kill("SIGKILL");
      expect(await terminal.exited).toBe(1);
      expect(terminal.screen).toMatch(/^> \r?\nerror: the server closed the connection/m);
    },
  );
});

// Three scenarios that wait on purpose, longer than a test should wait alone: they run side by
// side in one test (each with its own server), so the suite waits for the longest, not the sum.

/** A student's second client in mode sequential, while the first is still typing. */
async function secondClientWaits(): Promise<void> {
  const server = await startServer(["--mode", "sequential"]);
  const first = await connectedPeer(server);
  const second = run("client.ts", ["--port", String(server.port)], { stdin: "segundo\n" });
  await second.err.waitFor(
    /^no echo yet after 3\.0 s; still waiting \(most likely the server serves one client at a time, as in modes once and sequential, and is busy with another; Ctrl-C leaves; a TLS server needs --tls\)$/,
  );
  await server.out.waitFor("#2 waiting");
  // The first student is still typing. No timer is left to fire by default: the notice above
  // is the last thing the client does on its own, so a wait past it shows there is none.
  await Bun.sleep(2_000);
  expect(second.proc.exitCode).toBeNull();
  first.finish();
  expect(await second.exited).toBe(0);
  expect(second.out.all).toEqual(["segundo"]);
  expect(second.err.count(/still waiting/)).toBe(1);
}

/** --idle-timeout 1: a reader slower than drain can notice, beside one that reads nothing. */
async function slowReaderNotIdle(): Promise<void> {
  const server = await startServer(["--mode", "concurrent", "--idle-timeout", "1"]);
  const silent = new Peer(server.port, "127.0.0.1", false);
  await silent.send(randomBytes(8 * MiB).subarray(0, 6 * MiB)).catch(() => {});
  // 1 MiB read 32 KiB every 100 ms (320 KiB/s): about 3 s, three times the timeout.
  expect(await slowReader(server.port, MiB, 32 * 1024, 100)).toBe(`${MiB} True`);
  await silent.ended;
  await server.out.waitFor(
    /#1 closed: .*idle timeout: no traffic for 1\.0 s; [\d,]+ bytes of echo not delivered\)$/,
  );
  expect(server.out.text).toMatch(/#2 closed: 1,048,576 bytes echoed/);
}

/** After a stop signal, a slow reader keeps its echo; the server then exits 0. */
async function slowReaderAfterStop(): Promise<void> {
  const server = await startServer(["--mode", "concurrent"]);
  // About 3 s of reading: past the 2 s a connection that moves nothing gets after the signal.
  const reading = slowReader(server.port, MiB, 32 * 1024, 100);
  await server.out.waitFor("#1 connected");
  await server.out.waitFor(/#1 received/);
  server.proc.kill("SIGTERM");
  expect(await reading).toBe(`${MiB} True`);
  expect(await server.exited).toBe(0);
  expect(server.out.text).toMatch(/#1 closed: 1,048,576 bytes echoed in [\d.]+ s$/m);
}

describe("at human speed, and slower", () => {
  concurrently(
    "sequential: the second client waits with no timeout, says so once, then is served; slow readers are not idle, under --idle-timeout or after a stop",
    async () => {
      await Promise.all([secondClientWaits(), slowReaderNotIdle(), slowReaderAfterStop()]);
    },
    40_000,
  );

  concurrently("--timeout N keeps its meaning for scripts; --timeout 0 means never", async () => {
    const server = await startServer(["--mode", "sequential"]);
    const first = await connectedPeer(server);
    const impatient = run("client.ts", ["--port", String(server.port), "--timeout", "0.5"], {
      stdin: "x\n",
    });
    expect(await impatient.exited).toBe(1);
    expect(impatient.err.text).toContain("no echo from the server for 0.5 s; giving up");
    const patient = run("client.ts", ["--port", String(server.port), "--timeout", "0"], {
      stdin: "y\n",
    });
    await server.out.waitFor(/#3 waiting/);
    first.finish();
    expect(await patient.exited).toBe(0);
    expect(patient.out.all).toEqual(["y"]);
  });
});

describe("the stop's grace period", () => {
  concurrently(
    "counts from the signal: a client idle for a while before it still gets 2 s to say something",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const peer = await connectedPeer(server);
      await Bun.sleep(1900); // idle before the stop: the grace must not count this
      server.proc.kill("SIGTERM");
      await server.out.waitFor("stopping");
      await Bun.sleep(1000); // a person typing, within the 2 s after the signal
      await peer.send(new TextEncoder().encode("ainda\n"));
      await peer.until(6);
      expect(peer.text()).toBe("ainda\n");
      peer.finish();
      expect(await server.exited).toBe(0);
    },
  );

  concurrently(
    "no request changes a stop: after a curl of /readyz, SIGTERM without --stop-delay closes the port at once",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--http-port", "0"]);
      const http = Number(/:(\d+)\//.exec(await server.out.waitFor(/^health and metrics on/))![1]);
      const curl = runCommand(["curl", "-s", `http://127.0.0.1:${http}/readyz`]);
      expect(await curl.exited).toBe(0);
      const open = await connectedPeer(server); // keeps the server up to try the port
      server.proc.kill("SIGTERM");
      await server.out.waitFor("stopping: no new connections");
      const late = new Peer(server.port);
      expect(
        await late.connected.then(
          () => "connected",
          (e) => e.code,
        ),
      ).toBe("ECONNREFUSED");
      open.finish();
      expect(await server.exited).toBe(0);
      expect(server.out.text).not.toContain("/readyz now answers 503");
    },
  );
});

describe("hostile peers", () => {
  concurrently(
    "a storm of connect-then-reset: no internal error, the server keeps serving",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const storm = runCommand([
        "python3",
        "-c",
        `
import socket, struct
for i in range(300):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", ${server.port}))
    s.close()
`,
      ]);
      expect(await storm.exited).toBe(0);
      const peer = new Peer(server.port);
      expect(await roundTrip(peer, "still here\n")).toBe("still here\n");
      peer.close();
      expect(server.err.text).not.toContain("error");
      expect(server.out.all.filter((line) => line.includes("undefined"))).toEqual([]);
    },
  );

  concurrently(
    "ulimit -n 200 and 300 clients: a warning at start, the extra ones refused, no spin",
    async () => {
      const server = runCommand([
        "bash",
        "-c",
        `ulimit -n 200 && exec "${BUN}" server.ts --port 0 --mode concurrent --quiet`,
      ]);
      const { port } = await listeningAddress(server.out);
      expect(server.err.all[0]).toBe(
        "warning: this process may open only 200 files (ulimit -n): serving at most 150 connections at once (--max-connections); raise the limit to serve more",
      );
      const peers = Array.from({ length: 300 }, () => new Peer(port));
      await Promise.all(peers.map((p) => p.connected.catch(() => {})));
      await server.err.waitFor("connections open, the limit");
      expect(await cpuOver1s(server.proc.pid)).toBeLessThan(0.5); // spinning would take it all
      for (const p of peers.slice(0, 200)) p.close();
      const late = new Peer(port);
      expect(await roundTrip(late, "ok\n")).toBe("ok\n");
      for (const p of peers) p.close();
      late.close();
    },
  );

  concurrently(
    "ulimit -n 200 and --http-port: pages watching /live cannot take the echo's descriptors",
    async () => {
      const server = runCommand([
        "bash",
        "-c",
        `ulimit -n 200 && exec "${BUN}" server.ts --port 0 --http-port 0 --mode concurrent --quiet`,
      ]);
      const { port } = await listeningAddress(server.out);
      const http = Number(/:(\d+)\//.exec(server.out.all.find((l) => l.startsWith("health"))!)![1]);
      const allowed = Number(/at most (\d+) connections/.exec(server.err.all[0]!)![1]);
      expect(allowed).toBeGreaterThan(50); // 200, less what the endpoint and the process keep
      // 100 pages knock: 64 watch, the others are told 503 and hold nothing.
      const pages = Array.from({ length: 100 }, () => new WebSocket(`ws://127.0.0.1:${http}/live`));
      const outcomes = await Promise.all(
        pages.map(
          (ws) =>
            new Promise<string>((resolve) => {
              ws.onopen = () => resolve("open");
              ws.onerror = () => resolve("refused");
            }),
        ),
      );
      expect(outcomes.filter((o) => o === "open")).toHaveLength(64);
      // Every echo client up to the limit is still served, and the ones beyond are refused
      // without a spin on accept().
      const peers = Array.from({ length: allowed + 20 }, () => new Peer(port));
      await Promise.all(peers.map((p) => p.connected.catch(() => {})));
      await server.err.waitFor("connections open, the limit");
      expect(await cpuOver1s(server.proc.pid)).toBeLessThan(0.5);
      const served = await Promise.all(
        peers.slice(0, allowed).map((p) => roundTrip(p, "ok\n").catch(() => "")),
      );
      expect(served.filter((echo) => echo === "ok\n").length).toBe(allowed);
      for (const p of peers) p.close();
      for (const ws of pages) ws.close();
    },
  );
});

describe("the client against odd servers", () => {
  concurrently("a TLS server that never completes the handshake: --timeout applies", async () => {
    using silent = testServer(() => {});
    const client = run("client.ts", ["--port", String(silent.port), "--tls", "--timeout", "1"], {
      stdin: "x\n",
    });
    expect(await client.exited).toBe(1);
    expect(client.err.all).toEqual([
      "error: no TLS handshake from the server for 1.0 s; giving up (see --timeout)",
    ]);
  });

  concurrently(
    "TLS to a plain echo server: said plainly; the plain server is not disturbed",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const client = run("client.ts", ["--port", String(server.port), "--insecure"], {
        stdin: "x\n",
      });
      expect(await client.exited).toBe(1);
      expect(client.err.text).toContain(`127.0.0.1:${server.port} does not speak TLS`);
    },
  );

  concurrently(
    "a server that streams endlessly: one warning, with the count at the end",
    async () => {
      using flood = testServer((socket, bytes) => {
        socket.write(bytes);
        for (let i = 0; i < 200; i++) socket.write(new Uint8Array(1000).fill(0x41));
      });
      const client = run("client.ts", ["--port", String(flood.port)], { stdin: "a\nb\nc\n" });
      // Bytes that echo nothing are an error at the end, as a changed echo is.
      expect(await client.exited).toBe(1);
      expect(client.err.count(/echo no message/)).toBeLessThanOrEqual(2);
      expect(client.err.text).toMatch(/in all, the server sent [\d,]+ bytes that echo no message/);
    },
  );

  concurrently("an echo with terminal escapes is printed escaped", async () => {
    using evil = testServer((socket, bytes) =>
      socket.write(new Uint8Array([0x1b, ...bytes.subarray(1)])),
    );
    const client = run("client.ts", ["--port", String(evil.port)], { stdin: "[31mX\n" });
    expect(await client.exited).toBe(1); // it differs from what was sent
    expect(client.out.all).toEqual(["\\x1b31mX"]);
    expect(client.out.text).not.toContain("\x1b");
  });

  concurrently(
    "echoes that cannot be written are not lost silently: /dev/full exits 1 with one line",
    async () => {
      const server = await startServer(["--mode", "concurrent"]);
      const client = runCommand([
        "bash",
        "-c",
        `printf 'oi\\n' | "${BUN}" client.ts --port ${server.port} > /dev/full`,
      ]);
      expect(await client.exited).toBe(1);
      expect(client.err.all.at(-1)).toBe(
        "error: cannot write the echo to standard output (ENOSPC)",
      );
      expect(client.err.count(/error/)).toBe(1);
    },
  );

  concurrently("a directory as standard input: one line, exit 1", async () => {
    const server = await startServer(["--mode", "concurrent"]);
    const client = runCommand(["bash", "-c", `"${BUN}" client.ts --port ${server.port} < /`]);
    expect(await client.exited).toBe(1);
    expect(client.err.text).toMatch(/^error: cannot read standard input \(EISDIR\)$/m);
    expect(client.err.text).not.toContain("    at ");
  });
});

describe("an exception outside a socket handler", () => {
  concurrently("one line and exit 70: nobody can vouch for the state after it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "echo-crash-"));
    const preload = join(dir, "crash.ts");
    writeFileSync(preload, `setTimeout(() => { throw new Error("boom"); }, 300);\n`);
    const server = runCommand([BUN, "--preload", preload, join(ROOT, "server.ts"), "--port", "0"]);
    expect(await server.exited).toBe(70);
    expect(server.err.all).toEqual([
      "error: internal error: boom; the server stops (exit status 70)",
    ]);
  });
});

describe("--hexdump", () => {
  concurrently(
    "a 100 KB line: the server shows each piece as offset, hex and text, capped; the client gathers one echo",
    async () => {
      const server = await startServer(["--hexdump"]);
      const line = "ab".repeat(50_000); // 100,000 bytes and a newline
      const client = run("client.ts", ["--port", String(server.port), "--hexdump"], {
        stdin: `${line}\nfim\n`,
      });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual([line]); // stdout: the echo, once, whole
      expect(await server.exited).toBe(0);
      const heads = server.out.all.filter((l) => /^#1 < received [\d,]+ bytes?$/.test(l));
      const sizes = heads.map((l) => Number(/received ([\d,]+)/.exec(l)![1]!.replaceAll(",", "")));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(100_001);
      expect(server.out.text).toContain(
        "  00000000  61 62 61 62 61 62 61 62  61 62 61 62 61 62 61 62  |abababababababab|",
      );
      // Each piece shows 256 bytes at most, then how many it left out.
      const rows = server.out.all.filter((l) => /^ {2}[0-9a-f]{8} {2}/.test(l)).length;
      expect(rows).toBeLessThanOrEqual(16 * 2 * heads.length + 2 * heads.length);
      expect(server.out.text).toMatch(/^ {2}… and [\d,]+ more bytes, not shown$/m);
      // The client's dump is on stderr: what it sent, then the echo's pieces at their offsets.
      expect(client.err.text).toContain("sent 100,001 bytes:");
      expect(client.err.text).toMatch(/^received [\d,]+ bytes:$/m);
    },
  );
});
