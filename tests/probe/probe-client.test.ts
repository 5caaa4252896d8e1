/**
 * `bun run probe --client CMD` on real clients, each a real process: a correct Python client, the
 * classic one-recv() client, one that sends `fim`, one that never closes, one that waits for the
 * echo of an empty line, ours, and socat. Each verdict is checked by its codes (stable for
 * graders) and, for the classic bug, by the words a student reads, in both languages.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive, BUN, concurrently, freePort, have, ROOT, run } from "../helpers.ts";
import { sideBySideAtMost, until } from "../helpers.ts";

// Each test is a probe waiting on a client (a timeout, an exit), with little for the CPU to do.
sideBySideAtMost(17);

const dir = mkdtempSync(join(tmpdir(), "echo-clients-"));
const script = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return `python3 ${path}`;
};

/** The lab's client done right: reads until every byte it sent has come back. */
const GOOD = script(
  "good.py",
  `import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
for line in sys.stdin:
    line = line.rstrip("\\n")
    if line == "fim":
        break
    data = (line + "\\n").encode()
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        piece = s.recv(4096)
        if not piece:
            break
        got += piece
    print(got.decode().rstrip("\\n"), flush=True)
s.close()
`,
);

/** The classic bug: one recv() taken for the whole echo. The port from {port}. */
const NAIVE = script(
  "naive.py",
  `import socket, sys
s = socket.socket()
s.connect(("127.0.0.1", int(sys.argv[1])))
while True:
    msg = input()
    if msg == "fim":
        break
    s.sendall(msg.encode())
    print(s.recv(1024).decode())
s.close()
`,
);

/** Prints each line as it types it, never its echo (read and dropped only at the end). */
const PRINTS_TYPED = script(
  "prints_typed.py",
  `import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
while True:
    msg = input()
    if msg == "fim":
        break
    s.sendall(msg.encode())
    print(msg, flush=True)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
`,
);

/** Sends every line it reads, fim included, then stops. */
const SENDS_FIM = script(
  "sends_fim.py",
  `import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
for line in sys.stdin:
    data = line.encode()
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        got += s.recv(4096)
    print(got.decode(), end="", flush=True)
    if line.strip() == "fim":
        break
s.close()
`,
);

/** Right until fim, then neither closes nor exits; says where its pid is, to check it is gone. */
const neverCloses = (pidFile: string) =>
  script(
    "never_closes.py",
    `import os, socket, sys, time
open(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
for line in sys.stdin:
    line = line.rstrip("\\n")
    if line == "fim":
        break
    data = (line + "\\n").encode()
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        got += s.recv(4096)
    print(got.decode(), end="", flush=True)
time.sleep(3600)
`,
  );

/** Sends the line without its newline: for an empty one, 0 bytes, then waits for their echo. */
const EMPTY_HANG = script(
  "empty_hang.py",
  `import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
while True:
    msg = input()
    if msg == "fim":
        break
    data = msg.encode()
    s.sendall(data)
    got = b""
    while True:
        got += s.recv(4096)
        if len(got) >= len(data):
            break
    print(got.decode(), flush=True)
s.close()
`,
);

/** A new connection for every line. */
const RECONNECTS = script(
  "reconnects.py",
  `import os, socket
while True:
    msg = input()
    if msg == "fim":
        break
    s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
    data = (msg + "\\n").encode()
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        piece = s.recv(4096)
        if not piece:
            break
        got += piece
    print(got.decode(), end="", flush=True)
    s.close()
`,
);

/** Decodes each piece as it comes: a piece that ends inside "ç" raises UnicodeDecodeError. */
const DECODES_PIECES = script(
  "decodes_pieces.py",
  `import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
while True:
    msg = input()
    if msg == "fim":
        break
    s.sendall((msg + "\\n").encode())
    got = ""
    while len(got) < len(msg) + 1:
        got += s.recv(4096).decode()
    print(got, end="", flush=True)
s.close()
`,
);

/** Reads until recv() returns b"": prints an echo only once the connection has ended. */
const WAITS_FOR_END = script(
  "waits_for_end.py",
  `import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
while True:
    msg = input()
    if msg == "fim":
        break
    s.sendall((msg + "\\n").encode())
    got = b""
    while True:
        piece = s.recv(4096)
        if not piece:
            break
        got += piece
    print(got.decode(), end="", flush=True)
s.close()
`,
);

/** Tries the server with a connection it closes at once, then talks on a second it never closes. */
const TRIES_FIRST = script(
  "tries_first.py",
  `import os, socket, sys, time
address = ("127.0.0.1", int(os.environ["ECHO_PORT"]))
socket.create_connection(address).close()
s = socket.create_connection(address)
for line in sys.stdin:
    if line.strip() == "fim":
        break
    s.sendall(line.encode())
    got = b""
    while len(got) < len(line.encode()):
        got += s.recv(4096)
    print(got.decode(), end="", flush=True)
time.sleep(3600)
`,
);

/**
 * GOOD, after leaving behind a process of a session of its own that forks and exits every
 * millisecond (a new PID each time), holding a lock that goes free only once the last one is gone.
 */
const hops = (lock: string) =>
  script(
    "hops.py",
    `import fcntl, os, time
lock = open(${JSON.stringify(lock)}, "w")
fcntl.flock(lock, fcntl.LOCK_EX)
if os.fork() == 0:
    os.setsid()
    end = time.time() + 30
    while time.time() < end and not os.path.exists(${JSON.stringify(lock + ".stop")}):
        time.sleep(0.001)
        if os.fork() != 0:
            os._exit(0)
    os._exit(0)
lock.close()
` + readFileSync(GOOD.slice("python3 ".length), "utf8"),
  );

/** A client with the lines typed right but the wrong bytes: Latin-1 (cp1252), or NFD. */
const encodes = (name: string, encode: string) =>
  script(
    `${name}.py`,
    `import os, socket, sys, unicodedata
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
for line in sys.stdin:
    if line.strip() == "fim":
        break
    data = ${encode}
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        got += s.recv(4096)
    print(line, end="", flush=True)
s.close()
`,
  );

/** Opens 17 connections (the probe's server serves 16), then talks on the last. */
const SEVENTEEN = script(
  "seventeen.py",
  `import os, socket, sys
address = ("127.0.0.1", int(os.environ["ECHO_PORT"]))
links = [socket.create_connection(address) for _ in range(17)]
for line in sys.stdin:
    links[-1].sendall(line.encode())
    print(links[-1].recv(4096).decode(), end="", flush=True)
`,
);

/** Prints 2 MiB before its echoes, which are right. */
const PRINTS_MUCH = script(
  "prints_much.py",
  `import sys
sys.stdout.write("A" * (2 << 20) + "\\n")
` + readFileSync(GOOD.slice("python3 ".length), "utf8"),
);

/** Floods the socket with bytes of its own, never reads, never prints. */
const FLOODS = script(
  "floods.py",
  `import os, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])))
def flood():
    try:
        while True:
            s.sendall(b"x" * 65536)
    except OSError:
        pass
threading.Thread(target=flood, daemon=True).start()
sys.stdin.read()
`,
);

interface Verdict {
  code: number;
  checks: {
    id: string;
    passed: boolean;
    sent: string;
    got: string;
    code?: string;
    cause?: string;
    advice?: string;
  }[];
}

async function probe(command: string, ...more: string[]): Promise<Verdict> {
  const child = run("probe.ts", ["--client", command, "--json", ...more]);
  const code = await child.exited;
  return { code, checks: JSON.parse(child.out.text).checks };
}

/** The codes of the failed checks, by check: `{ echoes: "firstRecv" }`. */
const failures = (v: Verdict) =>
  Object.fromEntries(v.checks.filter((c) => !c.passed).map((c) => [c.id, c.code]));

/**
 * Not running: no such process, or a zombie (dead; reparented to an init that, in a container,
 * may never reap it).
 */
function gone(pid: number): boolean {
  if (!alive(pid)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? false;
  } catch {
    return true;
  }
}

const CHECKS = ["echoes", "typed", "slowServer", "fim", "closes", "exit"];

describe("probe --client", () => {
  concurrently("a correct Python client passes every check; exit status 0", async () => {
    const verdict = await probe(GOOD);
    expect(verdict.checks.map((c) => c.id)).toEqual(CHECKS);
    expect(failures(verdict)).toEqual({});
    expect(verdict.code).toBe(0);
  });

  concurrently("ours (bun client.ts) passes every check", async () => {
    const verdict = await probe(`${BUN} ${ROOT}/client.ts --port {port}`);
    expect(failures(verdict)).toEqual({});
    expect(verdict.code).toBe(0);
  });

  concurrently(
    "the classic bug, one recv(1024): named, in both languages, with what to do",
    async () => {
      // Three probes of the same client, side by side: each waits out its echoes never printed.
      const text = run("probe.ts", ["--client", NAIVE + " {port}"]);
      const pt = run("probe.ts", ["--client", NAIVE + " {port}", "--lang", "pt"]);
      const verdict = await probe(NAIVE + " {port}");
      expect(verdict.code).toBe(1);
      expect(failures(verdict).echoes).toBe("firstRecv");
      expect(await text.exited).toBe(1);
      expect(text.out.text).toContain(
        "your client printed after its first recv(); keep reading until every byte you sent has come back",
      );
      expect(text.out.text).toContain("what to do: call recv() in a loop");
      expect(await pt.exited).toBe(1);
      expect(pt.out.text).toContain(
        "seu cliente imprimiu depois do primeiro recv(); continue lendo até que todos os bytes que você enviou tenham voltado",
      );
    },
  );

  concurrently("a client that sends fim: told so", async () => {
    const verdict = await probe(SENDS_FIM);
    expect(failures(verdict)).toEqual({ typed: "sentFim" });
  });

  concurrently("a client that never closes: stopped, its process gone, and reported", async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), "echo-pid-")), "pid");
    const verdict = await probe(neverCloses(pidFile), "--timeout", "1");
    expect(failures(verdict)).toEqual({ fim: "neverCloses", closes: "noFin", exit: "killed" });
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(gone(pid)).toBe(true); // killed with its group, not left running
  });

  concurrently(
    "a client that waits for the echo of an empty line: stopped, and the empty line named",
    async () => {
      const verdict = await probe(EMPTY_HANG, "--timeout", "1");
      expect(failures(verdict)).toMatchObject({ slowServer: "emptyLine", exit: "killed" });
      expect(verdict.checks.find((c) => c.id === "fim")?.code).toBe("notRun");
    },
  );

  concurrently("a client that connects again for each line: told to connect once", async () => {
    const verdict = await probe(RECONNECTS, "--timeout", "1");
    expect(failures(verdict).echoes).toBe("reconnects");
  });

  concurrently(
    "a client that never connects (cat): stopped, and told to use the port",
    async () => {
      const verdict = await probe("cat", "--timeout", "0.5");
      expect(failures(verdict)).toMatchObject({ slowServer: "neverConnected", exit: "killed" });
      // What the probe knows: one line typed, and nothing of it reached its server; fim never
      // typed, so the advice is not about what to do after fim.
      const byId = (id: string) => verdict.checks.find((c) => c.id === id)!;
      expect(byId("slowServer").cause).toEndWith("): nothing typed reached it");
      expect(byId("exit")).toMatchObject({
        sent: "1 of 4 lines typed; fim not typed",
        advice: "see the failures above",
      });
    },
  );

  concurrently("a client that prints what was typed, not the echo: told so", async () => {
    const verdict = await probe(PRINTS_TYPED + " {port}");
    expect(failures(verdict).echoes).toBe("printedTyped");
  });

  concurrently(
    "a client that leaves a process of its own session behind (setsid): that one ends too",
    async () => {
      const pidFile = join(mkdtempSync(join(tmpdir(), "echo-pid-")), "pid");
      // It exits once the one it leaves has said its pid: ended before that, it could not say.
      const left = `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 301' </dev/null >/dev/null 2>&1 & until [ -s ${pidFile} ]; do sleep 0.01; done; exit 0`;
      await probe(left, "--timeout", "0.5");
      const pid = Number(readFileSync(pidFile, "utf8"));
      expect(gone(pid)).toBe(true);
    },
  );

  concurrently(
    "a client that leaves a process changing its PID all the time: frozen and killed too",
    async () => {
      const lock = join(mkdtempSync(join(tmpdir(), "echo-lock-")), "lock");
      try {
        expect(failures(await probe(hops(lock)))).toEqual({});
        // The lock is free only once every process of the hopping line has ended (the last one
        // killed may still be on its way out: its exit is the kernel's, a moment after the signal).
        const free = () => Bun.spawnSync(["flock", "-n", lock, "true"]).exitCode === 0;
        expect(await until(free, 1000)).toBe(true);
      } finally {
        writeFileSync(lock + ".stop", ""); // on a failure, the hopping ends by itself
      }
    },
  );

  concurrently(
    "a client with its port written in (refused there, it exits): told to use the port, not to read its error",
    async () => {
      const port = await freePort(); // nobody listens there
      const verdict = await probe(
        `python3 -c 'import socket; socket.create_connection(("127.0.0.1", ${port}))'`,
        "--timeout",
        "0.5",
      );
      expect(failures(verdict).echoes).toBe("endedUnconnected");
      expect(verdict.checks[0]!.advice).toContain("put {port} in the command");
    },
  );

  concurrently(
    "a client named by a path relative to elsewhere: one verdict, that it ended before connecting, where the probe runs it, and the rest skipped",
    async () => {
      const verdict = await probe("python3 no-such-client.py {port}");
      expect(failures(verdict)).toEqual({
        echoes: "endedUnconnected",
        typed: "notRun",
        slowServer: "notRun",
        fim: "notRun",
        closes: "notRun",
        exit: "notRun",
      });
      const [first, ...rest] = verdict.checks;
      expect(first!.cause).toContain("ended (exit status 2) before ever connecting");
      expect(first!.cause).toContain("No such file or directory");
      expect(first!.advice).toContain(`the probe runs your command in ${ROOT}`);
      expect(first!.advice).not.toContain("put {port}");
      for (const check of rest)
        expect(check.cause).toBe("the client ended before connecting: see above");
    },
  );

  concurrently.skipIf(!have("socat"))(
    "socat: every echo whole, but fim is sent and does not end it",
    async () => {
      const verdict = await probe("socat - TCP:127.0.0.1:{port}", "--timeout", "1");
      expect(failures(verdict)).toEqual({ typed: "sentFim", fim: "onlyEof" });
      // Only the tail of what it sent is shown: said so. fim's end is not "the end" of input.
      const byId = (id: string) => verdict.checks.find((c) => c.id === id)!;
      expect(byId("typed").got).toMatch(/^…"/);
      expect(byId("typed").got).toEndWith('fim\\n"');
      expect(byId("fim").got).toBe(
        "it went on; it exited only when its input ran out (EOF, as with a Ctrl-D)",
      );
    },
  );

  concurrently(
    "a client that crashes: named as a crash, with its status and last stderr line, once",
    async () => {
      const [decoding, other, bun] = await Promise.all([
        probe(DECODES_PIECES),
        probe(`python3 -c 'import sys; sys.stdin.readline(); raise KeyError("boom")' {port}`),
        probe(`${BUN} -e 'throw new TypeError("boom")'`),
      ]);
      const byId = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)!;
      expect(failures(decoding)).toEqual({
        echoes: "crashedDecoding",
        slowServer: "notRun",
        fim: "notRun",
        closes: "notRun",
        exit: "notRun",
      });
      expect(byId(decoding, "echoes").cause).toContain("crashed (exit status 1) while the echo");
      expect(byId(decoding, "echoes").cause).toContain("UnicodeDecodeError");
      expect(byId(decoding, "echoes").advice).toContain("decode the echo only once");
      // Never connected, it gets one verdict, with its error, at the first check.
      expect(byId(other, "echoes").code).toBe("endedUnconnected");
      expect(byId(other, "echoes").cause).toContain("KeyError: 'boom'");
      // Bun (and Node) write the stack and their version after the error: the error is named.
      expect(byId(bun, "echoes").cause).toContain("TypeError: boom");
      // fim was never typed: no check says it was.
      for (const v of [decoding, other])
        for (const id of ["closes", "exit"]) expect(byId(v, id).sent).not.toBe("fim");
    },
  );

  concurrently(
    "a client that prints only when the connection ends: told it waits for the end",
    async () => {
      const verdict = await probe(WAITS_FOR_END, "--timeout", "2");
      expect(failures(verdict)).toMatchObject({ echoes: "waitsForEnd", closes: "notRun" });
      const exit = verdict.checks.find((c) => c.id === "exit")!;
      expect(exit.sent).toBe("2 of 4 lines typed; fim not typed");
    },
  );

  concurrently(
    "a client with two connections: each judged by its own end, and the count named",
    async () => {
      const [tries, each] = await Promise.all([
        probe(TRIES_FIRST, "--timeout", "2"),
        probe(RECONNECTS, "--timeout", "2"),
      ]);
      expect(failures(tries)).toEqual({
        echoes: "reconnects",
        fim: "neverCloses",
        closes: "noFin",
        exit: "killed",
      });
      expect(tries.checks[0]!.cause).toContain("it opened 2 connections");
      expect(tries.checks.find((c) => c.id === "closes")).toMatchObject({
        got: "no FIN on its connection 2 of 2",
      });
      expect(failures(each)).toEqual({ echoes: "reconnects" });
      expect(each.checks.find((c) => c.id === "closes")).toMatchObject({
        got: "a FIN on each of its 4 connections",
      });
    },
  );

  concurrently("clients the probe could misjudge: each told what is true of it", async () => {
    const [latin1, nfd, seventeen, much, floods] = await Promise.all([
      probe(encodes("latin1", 'line.encode("latin-1")')),
      probe(encodes("nfd", 'unicodedata.normalize("NFD", line).encode()'), "--lang", "pt"),
      probe(SEVENTEEN, "--timeout", "1"),
      probe(PRINTS_MUCH),
      probe(FLOODS, "--timeout", "1"),
    ]);
    const byId = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)!;
    // Every line was sent, in the wrong bytes: the encoding named, the conversation went on.
    expect(failures(latin1)).toEqual({ typed: "latin1" });
    expect(byId(latin1, "typed").cause).toContain(
      'sent "ação, coração e pão de açúcar" in Latin-1 (cp1252, the Windows default), not in UTF-8',
    );
    expect(byId(latin1, "typed").advice).toContain('line.encode("utf-8")');
    expect(failures(nfd)).toEqual({ typed: "nfd" });
    expect(byId(nfd, "typed").cause).toContain(
      "decomposta (normalização Unicode NFD): igual na tela, mas não nos bytes; ç (U+00E7) foi como c + U+0327",
    );
    // The 17th connection was the probe's to reset: said, and its end not called a crash.
    expect(byId(seventeen, "echoes").cause).toContain(
      "the probe's server served the first 16; the rest were reset",
    );
    expect(Object.values(failures(seventeen))).not.toContain("crashed");
    expect(byId(seventeen, "exit").cause).toContain("reset its connections beyond the first 16");
    // Its echoes came after the MiB of stdout the probe keeps: not judged, not "first recv()".
    expect(failures(much)).toEqual({ echoes: "notRun" });
    expect(byId(much, "echoes").cause).toContain("the probe keeps only the first MiB");
    // Nothing of what was typed came back: not "though every echo came back".
    expect(byId(floods, "echoes").cause).toBe(
      "your client printed nothing on stdout, and what it sent was not just the lines typed (see the next check)",
    );
  });

  test("--client with a server's option is a usage error", async () => {
    const child = run("probe.ts", ["--client", "true", "--port", "5000"]);
    expect(await child.exited).toBe(2);
    expect(child.err.text).toContain("--client does not go with --port");
  });
});
