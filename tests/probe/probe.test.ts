/**
 * `bun run probe` against real servers: ours in each mode, socat and ncat, and echo servers with
 * the classic students' mistakes, written in Python below. Each broken server must fail exactly
 * the checks its mistake breaks, with that mistake named (the JSON's `code`).
 */
import { describe, expect, test } from "bun:test";
import {
  concurrently,
  freePort,
  have,
  inBackground,
  run,
  runCommand,
  startServer,
  sideBySideAtMost,
} from "../helpers.ts";

// Most tests here wait: on the probe's time limits, or on a run started when the file loads.
sideBySideAtMost(6);

/** Echo servers, one per mistake: `python3 -c BROKEN kind` prints its port, then serves. */
const BROKEN = `
import socket, sys, threading
kind = sys.argv[1]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)

def echo(conn):  # the right way, for comparison
    while data := conn.recv(65536):
        conn.sendall(data)

def one_recv(conn):  # takes each recv() for one line: echoes its first line only
    while data := conn.recv(65536):
        conn.sendall(data.split(b"\\n")[0] + b"\\n")

def send_no_loop(conn):  # send() instead of sendall(): what send() did not take is lost
    import select
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    conn.setblocking(False)
    while True:
        select.select([conn], [], [])
        data = conn.recv(65536)
        if not data:
            break
        try:
            conn.send(data)
        except BlockingIOError:
            pass

def close_on_fin(conn):  # reads into a queue, a thread echoes; on the client's FIN, closes at once
    import queue, time
    q = queue.Queue()
    def writer():  # logs each piece before echoing it: a little slower than the reader
        while (data := q.get()) is not None:
            time.sleep(0.002)
            try:
                conn.sendall(data)
            except OSError:
                return
    threading.Thread(target=writer, daemon=True).start()
    while data := conn.recv(65536):
        q.put(data)
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()

def fixed_buffer(conn):  # copies each read into a 1024-byte reply buffer
    while data := conn.recv(65536):
        conn.sendall(data[:1024])

def goodbye(conn):  # echoes right, then, a moment after the client's FIN, says goodbye
    import time
    echo(conn)
    time.sleep(0.2)
    conn.sendall(b"BYE\\n")

def upper(conn):
    while data := conn.recv(65536):
        conn.sendall(data.upper())

def crash(conn):  # decodes what it receives: invalid UTF-8 raises, and the whole process dies
    import os
    while data := conn.recv(65536):
        try:
            conn.sendall(data.decode("utf-8").encode("utf-8"))
        except UnicodeDecodeError:
            os._exit(1)

def hang(conn):  # stops answering at the first NUL byte, and keeps the connection open
    while data := conn.recv(65536):
        if b"\\0" in data:
            threading.Event().wait()
        conn.sendall(data)

serve = {"crash": crash, "hang": hang, "echo": echo, "one_recv": one_recv, "send_no_loop": send_no_loop,
         "close_on_fin": close_on_fin, "goodbye": goodbye, "fixed_buffer": fixed_buffer, "upper": upper,
         "one_then_hang": echo}[kind]

def run(conn):
    try:
        serve(conn)
    except OSError:
        pass
    finally:
        conn.close()

if kind == "one_then_hang":  # serves one client, then never accepts again
    run(srv.accept()[0])
    threading.Event().wait()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=run, args=(conn,), daemon=True).start()
`;

interface Check {
  id: string;
  passed: boolean;
  sent?: string;
  code?: string;
  cause?: string;
  advice?: string;
}
interface Json {
  passed: number;
  failed: number;
  checks: Check[];
  figures: { latencyMs?: number; throughputMBs?: number };
}

/** Runs the probe with --json; its exit status and report. */
async function probe(port: number, args: string[] = []) {
  const started = performance.now();
  const child = run("probe.ts", ["--port", String(port), "--json", ...args]);
  const code = await child.exited;
  const ms = performance.now() - started;
  return { code, json: JSON.parse(child.out.text) as Json, err: child.err.text, ms };
}

/**
 * The probe against each of the Python servers, all started when the file loads: each mostly
 * waits out its own time limits, so they wait side by side, and each test reads its result.
 */
const fast = ["--timeout", "0.5"]; // the broken servers make several checks wait this long
const concurrentFast = ["--expect", "concurrent", ...fast];
// These answer every check at once (no wait runs out): a longer limit costs them nothing, and
// their whole run (ten waits' worth) does not run out on a loaded machine.
const concurrentRoomy = ["--expect", "concurrent", "--timeout", "2"];
const probeOf = (kind: string, args: string[]) =>
  inBackground(() => broken(kind).then((port) => probe(port, args)));
const brokenRuns = {
  echo: probeOf("echo", ["--expect", "concurrent"]),
  one_recv: probeOf("one_recv", concurrentFast),
  send_no_loop: probeOf("send_no_loop", concurrentFast),
  close_on_fin: probeOf("close_on_fin", concurrentRoomy),
  fixed_buffer: probeOf("fixed_buffer", concurrentFast),
  upper: probeOf("upper", concurrentRoomy),
  goodbye: probeOf("goodbye", concurrentRoomy),
  crash: probeOf("crash", concurrentFast),
  hang: probeOf("hang", concurrentFast),
  one_then_hang: probeOf("one_then_hang", ["--expect", "sequential", ...fast]),
};

async function broken(kind: string): Promise<number> {
  const child = runCommand(["python3", "-c", BROKEN, kind]);
  return Number(await child.out.waitFor(/^\d+$/));
}

const failed = (json: Json) =>
  Object.fromEntries(json.checks.filter((c) => !c.passed).map((c) => [c.id, c.code]));

const DATA = ["shortLine", "pieces", "together", "allBytes", "bulk", "slowRead", "halfClose"];

// First the tests that wait longest (ncat's stalls, the probe's time limits): the rest fill in
// beside them.
describe("servers that do it right pass every check", () => {
  for (const mode of ["once", "sequential", "concurrent"]) {
    concurrently(`ours, mode ${mode}`, async () => {
      const server = await startServer(["--mode", mode, "--quiet"]);
      const { code, json } = await probe(server.port, ["--expect", mode]);
      expect(failed(json)).toEqual({});
      expect(json.checks.map((c) => c.id)).toEqual([...DATA, "closesAfter", mode]);
      expect(json.figures.latencyMs).toBeGreaterThan(0);
      expect(json.figures.throughputMBs).toBeGreaterThan(0);
      expect(code).toBe(0);
    });
  }

  concurrently("a correct Python server (recv, sendall, a thread per client)", async () => {
    const { code, json } = await brokenRuns.echo;
    expect(failed(json)).toEqual({});
    expect(code).toBe(0);
  });

  (have("socat") ? concurrently : test.skip)("socat TCP-LISTEN,fork EXEC:cat", async () => {
    const port = freePort();
    const socat = runCommand([
      "socat",
      `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
      "EXEC:cat",
    ]);
    await listening(port, socat.proc);
    const { code, json } = await probe(port, ["--expect", "concurrent"]);
    expect(failed(json)).toEqual({});
    expect(code).toBe(0);
  });

  // ncat 7.93's --exec relay blocks writing to cat while cat blocks writing back: past a few MB
  // it stops reading (checked by hand with a Python client too). The small checks pass.
  (have("ncat") ? concurrently : test.skip)(
    "ncat -l -k --exec /bin/cat: the small checks and the mode",
    async () => {
      const port = freePort();
      const ncat = runCommand([
        "ncat",
        "-l",
        "-k",
        "127.0.0.1",
        String(port),
        "--exec",
        "/bin/cat",
      ]);
      await listening(port, ncat.proc);
      const { json } = await probe(port, ["--expect", "concurrent", "--timeout", "0.5"]);
      const passed = json.checks.filter((c) => c.passed).map((c) => c.id);
      expect(passed).toEqual(
        expect.arrayContaining(["shortLine", "pieces", "together", "allBytes", "concurrent"]),
      );
    },
  );
});

describe("the mode's rule", () => {
  concurrently("--expect once: a server that accepts a second client fails", async () => {
    const server = await startServer(["--mode", "concurrent", "--quiet"]);
    const [asked, byDefault] = await Promise.all([
      probe(server.port, ["--expect", "once"]),
      probe(server.port),
    ]);
    expect(failed(asked.json)).toEqual({ once: "onceAccepted" });
    expect(failed(byDefault.json)).toEqual({ once: "onceAccepted" });
    // Mode once was the default, not asked for: the advice says so, and how to ask for another.
    const once = (json: Json) => json.checks.find((c) => c.id === "once")!.advice;
    const how =
      "the default: for a server meant to serve more clients, give --expect sequential or --expect concurrent";
    expect(once(byDefault.json)).toContain(how);
    expect(once(asked.json)).not.toContain(how);
  });

  concurrently(
    "--expect sequential against a concurrent server, and the other way round",
    async () => {
      const [concurrent, sequential] = await Promise.all([
        startServer(["--mode", "concurrent", "--quiet"]),
        startServer(["--mode", "sequential", "--quiet"]),
      ]);
      const [asSequential, asConcurrent] = await Promise.all([
        probe(concurrent.port, ["--expect", "sequential"]),
        probe(sequential.port, ["--expect", "concurrent", "--timeout", "1"]),
      ]);
      expect(failed(asSequential.json)).toEqual({ sequential: "servedAtOnce" });
      expect(failed(asConcurrent.json)).toEqual({ concurrent: "oneAtATime" });
    },
  );
});

describe("what a student sees", () => {
  concurrently(
    "one line per check; a failure says why and what to do, in Portuguese under LANG=pt_BR",
    async () => {
      const port = await broken("close_on_fin");
      const child = run("probe.ts", ["--port", String(port), "--expect", "concurrent"], {
        env: { LANG: "pt_BR.UTF-8" },
      });
      expect(await child.exited).toBe(1);
      const lines = child.out.all;
      expect(lines[0]).toStartWith(
        `verificando 127.0.0.1:${port}, que deve seguir o modo concurrent`,
      );
      expect(lines.filter((l) => /^(OK|FALHA) /.test(l))).toHaveLength(9);
      const at = lines.findIndex((l) => l.startsWith("FALHA   fechamento parcial"));
      expect(lines[at + 1]).toContain("por quê: voltaram");
      expect(lines[at + 1]).toContain("fechou assim que o cliente fechou o lado de envio");
      expect(lines[at + 2]).toStartWith("      o que fazer: ");
      expect(lines.at(-1)).toBe("8 de 9 verificações passaram");
    },
  );

  concurrently("no server: one line, exit 1; a bad option: exit 2", async () => {
    const port = freePort();
    const none = run("probe.ts", ["--port", String(port)]);
    expect(await none.exited).toBe(1);
    expect(none.err.all).toEqual([
      `error: nothing listens at 127.0.0.1:${port}: start your echo server first, or check --host and --port`,
    ]);
    const bad = run("probe.ts", ["--expect", "twice"]);
    expect(await bad.exited).toBe(2);
    expect(bad.err.text).toBe(
      'error: --expect must be once, sequential or concurrent, not "twice" (see: bun run probe --help)',
    );
  });

  concurrently("--help lists every option", async () => {
    const help = run("probe.ts", ["--help"]);
    expect(await help.exited).toBe(0);
    for (const flag of [
      "--host",
      "--port",
      "--expect",
      "--timeout",
      "--slow-pause",
      "--tls",
      "--tls-ca",
      "--insecure",
      "--json",
      "--lang",
    ])
      expect(help.out.text).toContain(flag);
  });
});

describe("each classic mistake fails its checks, with its cause named", () => {
  concurrently("one recv() taken for one message (only its first line echoed)", async () => {
    const { code, json } = await brokenRuns.one_recv; // four waits time out here
    const f = failed(json);
    expect(Object.keys(f).sort()).toEqual(
      ["allBytes", "bulk", "halfClose", "pieces", "slowRead", "together"].sort(),
    );
    expect(f.pieces).toBe("oneRecvPieces");
    expect(f.together).toBe("oneRecvTogether");
    expect(f.allBytes).toBe("textBytes");
    expect(code).toBe(1);
  });

  concurrently("send() without a loop: what send() did not take is dropped", async () => {
    const { json } = await brokenRuns.send_no_loop;
    const f = failed(json);
    expect(["bulk", "slowRead", "halfClose"]).toEqual(expect.arrayContaining(Object.keys(f)));
    expect(f.slowRead).toBe("sendNoLoop");
    // When only the end was dropped, a prefix and then the end of stream looks like closeOnFin.
    expect(["sendNoLoop", "closeOnFin"]).toContain(f.halfClose!);
  });

  concurrently("closing on the client's FIN at once, before the echo is out", async () => {
    const { json } = await brokenRuns.close_on_fin;
    expect(failed(json)).toEqual({ halfClose: "closeOnFin" });
  });

  concurrently("a fixed 1024-byte buffer cuts every read", async () => {
    const { json } = await brokenRuns.fixed_buffer;
    expect(failed(json)).toEqual({
      bulk: "fixedBuffer",
      slowRead: "fixedBuffer",
      halfClose: "fixedBuffer",
    });
    expect(json.checks.find((c) => c.id === "bulk")!.cause).toContain("1,024");
  });

  concurrently("a goodbye after the client's FIN: more came back than was sent", async () => {
    const { json } = await brokenRuns.goodbye;
    expect(failed(json)).toEqual({ halfClose: "extra" });
  });

  concurrently("upper-casing", async () => {
    const { json } = await brokenRuns.upper;
    expect(failed(json)).toEqual(Object.fromEntries(DATA.map((id) => [id, "upper"])));
  });

  concurrently("serving one client, then hanging: the next client is never served", async () => {
    const { json } = await brokenRuns.one_then_hang;
    expect(failed(json)).toEqual({ sequential: "firstNoEcho" });
  });

  concurrently(
    "a server that crashes mid-run is reported; the checks left are not run",
    async () => {
      const { json } = await brokenRuns.crash;
      const f = failed(json);
      expect(f.allBytes).toBe("decodeCrash"); // text passed, then not one byte of these
      // The next connection may still reach the dying process (closed at once), then none does.
      for (const id of ["bulk", "slowRead", "halfClose", "closesAfter"])
        expect(["closed", "reset", "notRun"]).toContain(f[id]!);
      expect(f.closesAfter).toBe("notRun");
      expect(["notRun", "firstRefused"]).toContain(f.concurrent!);
    },
  );

  concurrently("a server that hangs mid-run is reported, not waited for", async () => {
    const { json } = await brokenRuns.hang; // not waited for: the checks after it are not run
    const f = failed(json);
    expect(f.allBytes).toBe("noEcho");
    for (const id of ["bulk", "slowRead", "halfClose", "closesAfter"]) expect(f[id]).toBe("notRun");
    expect(f.concurrent).toBeUndefined(); // new connections are still served
  });
});

/** Waits until something accepts on `port` (socat and ncat print nothing when ready). */
async function listening(port: number, proc: Bun.Subprocess): Promise<void> {
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      await Bun.sleep(10);
    }
  }
}

concurrently(
  "a server that closes after one recv(): said so, not blamed on the half-close",
  async () => {
    const server = runCommand([
      "python3",
      "-c",
      `
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.send(c.recv(1024)); c.close()
`,
    ]);
    const port = (await server.out.waitFor(/^\d+$/)).trim();
    const probe = run("probe.ts", ["--port", port, "--expect", "concurrent", "--timeout", "0.5"]);
    expect(await probe.exited).toBe(1);
    expect(probe.out.text).toContain("does it close after one recv()");
    expect(probe.out.text).not.toContain("(recv() returned 0)"); // not the close-on-FIN mistake
  },
);

/**
 * The lab's template, as students write it: listen(1), one accept(), a recv()/send() loop, then
 * close. `pause` is the moment between closing the connection and the listening socket (a print,
 * a log line...): a client that comes then is queued by the kernel, never by the program.
 */
const LAB_TEMPLATE = `
import socket, sys, time
kind = sys.argv[1]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
conn, addr = s.accept()
while True:
    data = conn.recv(1024)
    if not data or kind == "one_recv_once":
        break
    if kind == "decodes":  # msg = data.decode(): bytes that are not UTF-8 raise, and it dies
        data = data.decode().encode()
    conn.send(data)
if kind == "one_recv_once":
    conn.send(data)
conn.close()
time.sleep(0.3)
s.close()
`;

async function labServer(kind: string): Promise<string> {
  const child = runCommand(["python3", "-c", LAB_TEMPLATE, kind]);
  return (await child.out.waitFor(/^\d+$/)).trim();
}

describe("the lab's template in mode once", () => {
  concurrently(
    "passes --expect once: the queued second client is never served, then reset",
    async () => {
      const port = await labServer("classic");
      const child = run("probe.ts", ["--port", port, "--expect", "once", "--timeout", "0.5"]);
      expect(await child.exited).toBe(0);
      const lines = child.out.all;
      expect(lines.find((l) => l.includes("mode once: "))).toStartWith("PASS");
      expect(lines.at(-1)).toBe("9 of 9 checks passed");
      // It passed with send(): the probe cannot tell, so it says which one is portable.
      expect(lines.at(-2)).toContain("sendall() is the portable choice");
    },
  );

  concurrently(
    "closing after one recv(): a failure that says why, and why the rest was skipped",
    async () => {
      const port = await labServer("one_recv_once");
      const { code, json } = await probe(Number(port), ["--expect", "once", "--timeout", "0.5"]);
      expect(code).toBe(1);
      const pieces = json.checks.find((c) => c.id === "pieces")!;
      expect(pieces.code).toBe("closedAfterOne");
      expect(pieces.cause).toContain("closed after one recv()");
      expect(pieces.advice).toContain("loop until recv() returns 0");
      expect(pieces.sent).toBe("nothing (the connection had ended)"); // not "-"
      const skipped = json.checks.filter((c) => c.code === "notRun");
      expect(skipped).toHaveLength(6);
      for (const c of skipped)
        expect(c.cause).toContain('closed the connection after "a short line"');
      expect(json.passed).toBe(2);
    },
  );

  concurrently(
    "decoding what it receives (dados.decode()): the crash on bytes that are not UTF-8 named first, in both languages",
    async () => {
      const [en, pt] = await Promise.all([labServer("decodes"), labServer("decodes")]);
      const pt_ = run("probe.ts", ["--port", pt, "--timeout", "0.5", "--lang", "pt"]);
      const { code, json } = await probe(Number(en), ["--timeout", "0.5"]);
      expect(code).toBe(1);
      const allBytes = json.checks.find((c) => c.id === "allBytes")!;
      expect(allBytes.code).toBe("decodeCrash");
      expect(allBytes.cause).toStartWith("your server decodes what it receives as text");
      expect(allBytes.cause).toContain("UnicodeDecodeError");
      expect(allBytes.advice).toContain(
        'decode only to print them: print(data.decode(errors="replace"))',
      );
      expect(await pt_.exited).toBe(1);
      expect(pt_.out.text).toContain(
        "por quê: seu servidor decodifica o que recebe como texto, e provavelmente caiu nos bytes que não são UTF-8",
      );
      expect(pt_.out.text).toContain('print(dados.decode(errors="replace"))');
      expect(pt_.out.text).not.toContain("ele fecha depois de um recv()");
    },
  );
});
