/** The client, as a real process reading a pipe, against the real server and odd test servers. */
import { describe, expect } from "bun:test";
import {
  concurrently,
  freePort,
  have,
  run,
  ROOT,
  runCommand,
  startServer,
  testServer,
} from "../helpers.ts";

describe("through a pipe, against the real server", () => {
  concurrently(
    "echoes go to stdout, one per line; fim is not sent and ends with exit 0",
    async () => {
      const server = await startServer();
      const client = run("client.ts", ["--port", String(server.port)], {
        stdin: "oi\nação\nfim\nnever sent\n",
      });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["oi", "ação"]);
      expect(client.err.text).toContain(`connected to 127.0.0.1:${server.port}`);
      expect(client.err.text).not.toContain("> "); // no prompt when stdin is not a terminal
      expect(await server.exited).toBe(0); // mode once: its client left
      expect(server.out.count(/received/)).toBe(2);
      expect(server.out.text).toContain("#1 closed: 10 bytes echoed");
    },
  );

  concurrently("end of input without fim ends the same way", async () => {
    const server = await startServer();
    const client = run("client.ts", ["--port", String(server.port)], { stdin: "um\ndois" });
    expect(await client.exited).toBe(0);
    expect(client.out.all).toEqual(["um", "dois"]);
    expect(await server.exited).toBe(0);
  });

  concurrently("fim with spaces around it and a CR still ends the session", async () => {
    const server = await startServer();
    const client = run("client.ts", ["--port", String(server.port)], { stdin: "a\n  fim \r\nb\n" });
    expect(await client.exited).toBe(0);
    expect(client.out.all).toEqual(["a"]);
  });

  concurrently(
    "Fim and FIM end it too, not sent, as --help, README.md and LEIAME.md say",
    async () => {
      using server = testServer((socket, bytes) => socket.write(bytes));
      const [upper, title] = ["a\nFIM\nb\n", "a\nFim\nb\n"].map((stdin) =>
        run("client.ts", ["--port", String(server.port)], { stdin }),
      );
      expect([await upper!.exited, await title!.exited]).toEqual([0, 0]);
      expect(server.received()).toBe("a\na\n");
      const said = await Promise.all(
        ["README.md", "LEIAME.md"].map((file) => Bun.file(`${ROOT}/${file}`).text()),
      );
      expect(said[0]).toContain("Typing `fim` (in any case: `Fim` and `FIM` too)");
      expect(said[1]).toContain("Digitar `fim` (em maiúsculas ou minúsculas: `Fim` e `FIM`");
      const help = run("client.ts", ["--help"]);
      expect(await help.exited).toBe(0);
      expect(help.out.text).toContain("Type fim (in any case)");
    },
  );
});

describe("what goes on the wire", () => {
  concurrently(
    "CRLF input: the CR is not sent; real empty lines are; the spurious last one is not",
    async () => {
      using server = testServer((socket, bytes) => socket.write(bytes));
      const client = run("client.ts", ["--port", String(server.port)], {
        stdin: "a\r\n\r\n\nb\r\n",
      });
      expect(await client.exited).toBe(0);
      expect(server.received()).toBe("a\n\n\nb\n");
      expect(client.out.all).toEqual(["a", "", "", "b"]);
    },
  );

  concurrently("multi-byte text echoed one byte per TCP piece is printed once, whole", async () => {
    using server = testServer((socket, bytes) => {
      bytes.forEach((byte, i) => setTimeout(() => socket.write(new Uint8Array([byte])), 2 * i));
    });
    const client = run("client.ts", ["--port", String(server.port)], {
      stdin: "ação ✓ 日本\noi\n",
    });
    expect(await client.exited).toBe(0);
    expect(client.out.all).toEqual(["ação ✓ 日本", "oi"]);
    expect(client.err.text).not.toContain("warning");
  });

  concurrently(
    "an echo that differs is printed as it came, with a warning; exit 1 at the end",
    async () => {
      using server = testServer((socket, bytes) =>
        socket.write(new TextEncoder().encode(new TextDecoder().decode(bytes).toUpperCase())),
      );
      const client = run("client.ts", ["--port", String(server.port)], { stdin: "abc\n123\n" });
      expect(await client.exited).toBe(1); // a script piping through it can tell
      expect(client.out.all).toEqual(["ABC", "123"]); // the session went on
      expect(client.err.count(/the echo differs/)).toBe(1);
      expect(client.err.text).toContain("warning: the echo differs from the 4 bytes sent");
    },
  );
  concurrently.skipIf(!have("python3"))(
    "bytes that echo no message (a server that adds a line of its own) are warned about; exit 1 at the end",
    async () => {
      // A real peer in another language: it echoes each piece, then says something of its own.
      const peer = runCommand([
        "python3",
        "-c",
        `
import socket
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
while data := conn.recv(4096):
    conn.sendall(data + b"220 ready\\r\\n")
`,
      ]);
      const port = await peer.out.waitFor(/^\d+$/);
      const client = run("client.ts", ["--port", port], { stdin: "oi\n" });
      expect(await client.exited).toBe(1);
      expect(client.out.all).toEqual(["oi"]); // the echo itself was exact
      expect(client.err.text).toContain("warning: the server sent 11 bytes that echo no message");
      expect(client.err.count(/echo no message/)).toBe(1); // no total at the end: nothing more came
      await peer.exited;
    },
  );
});

describe("errors: one line, no stack trace", () => {
  concurrently("a closed port: connection refused, start the server first, exit 1", async () => {
    const port = freePort();
    const client = run("client.ts", ["--port", String(port)], { stdin: "oi\n" });
    expect(await client.exited).toBe(1);
    expect(client.err.all).toEqual([
      `error: connection refused by 127.0.0.1:${port}: no server is listening there. Start one (bun run server), or check --host and --port; a server in mode once stops listening as soon as its one client connects`,
    ]);
    expect(client.out.text).toBe("");
  });

  concurrently("an unknown host, exit 1", async () => {
    // A name with spaces fails in the resolver itself: no query leaves the machine.
    const client = run("client.ts", ["--host", "no such host"], { stdin: "oi\n" });
    expect(await client.exited).toBe(1);
    expect(client.err.all).toEqual([
      'error: unknown host "no such host": check the name, or give an IP address (--host 127.0.0.1 for this machine)',
    ]);
  });

  concurrently("no echo within --timeout, exit 1", async () => {
    using server = testServer(() => {}); // reads, never answers
    const client = run("client.ts", ["--port", String(server.port), "--timeout", "0.3"], {
      stdin: "oi\n",
    });
    expect(await client.exited).toBe(1);
    expect(client.err.text).toContain("error: no echo from the server for 0.3 s; giving up");
    expect(server.received()).toBe("oi\n");
  });

  concurrently(
    "the server closes mid-session: said at once, while the client waits for input",
    async () => {
      using server = testServer((socket, bytes) => {
        socket.write(bytes);
        socket.end();
      });
      const client = run("client.ts", ["--port", String(server.port)]);
      client.proc.stdin.write("oi\n"); // and the pipe stays open: the user is "still typing"
      await client.out.waitFor("oi");
      expect(await client.exited).toBe(1);
      expect(client.err.text).toContain("error: the server closed the connection");
      expect(client.err.text).not.toContain("    at "); // no stack trace
    },
  );

  concurrently(
    "a server that closes with an echo still owed: the same line says how much never came",
    async () => {
      const server = await startServer(["--mode", "concurrent", "--close-after", "5"]);
      const [en, pt] = ["en", "pt"].map((lang) =>
        run("client.ts", ["--port", String(server.port), "--lang", lang], {
          stdin: "hello world\n",
        }),
      );
      expect([await en!.exited, await pt!.exited]).toEqual([1, 1]);
      expect(en!.err.all.at(-1)).toBe(
        "error: the server closed the connection; 7 bytes of the echo never came",
      );
      expect(pt!.err.all.at(-1)).toBe(
        "erro: o servidor fechou a conexão; 7 bytes do eco nunca chegaram",
      );
      const reset = await startServer(["--reset-after", "5"]);
      const cut = run("client.ts", ["--port", String(reset.port)], { stdin: "hello world\n" });
      expect(await cut.exited).toBe(1);
      expect(cut.err.all.at(-1)).toMatch(
        /^error: the server reset the connection; \d+ bytes of the echo never came$/,
      );
    },
  );

  concurrently(
    "a listen(1) server busy with another client ends: the reset of the queued connection is explained",
    async () => {
      // The lab's server: listen(1), then busy (here: reading its stdin) and never accepting us.
      const lab = runCommand([
        "python3",
        "-c",
        `import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
sys.stdin.readline()`,
      ]);
      const port = await lab.out.waitFor(/^\d+$/);
      const client = run("client.ts", ["--port", port, "--trace"]);
      client.proc.stdin.write("oi\n");
      await client.err.waitFor(/write 3\/3/); // handed to the kernel whole: its echo owed
      lab.proc.stdin.end(); // the server ends: the kernel resets what it never accepted
      expect(await client.exited).toBe(1);
      expect(client.err.all.at(-1)).toBe(
        "error: the server reset the connection without ever sending a byte (3 bytes of echo owed): most likely it never accepted this connection (busy with another client) and ended, and the system reset those still waiting",
      );
    },
  );

  concurrently(
    "a server that closes a silent connection: the client says it may have stopped or timed out",
    async () => {
      const server = await startServer(["--idle-timeout", "1"]);
      const client = run("client.ts", ["--port", String(server.port)]);
      client.proc.stdin.write("oi\n"); // then nothing more: the user is reading the lab sheet
      await client.out.waitFor("oi");
      expect(await client.exited).toBe(1);
      expect(client.err.text).toMatch(
        /error: the server closed the connection after \d+\.\d s without traffic \(it may have stopped, or have an idle timeout\); start the client again/,
      );
    },
  );

  concurrently(
    "the real server killed mid-session: the client says so at once, exit 1",
    async () => {
      const server = await startServer();
      const client = run("client.ts", ["--port", String(server.port)]);
      client.proc.stdin.write("oi\n");
      await client.out.waitFor("oi");
      server.proc.kill("SIGKILL");
      expect(await client.exited).toBe(1);
      expect(client.err.text).toMatch(/error: the server (closed|reset) the connection/);
    },
  );

  concurrently.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535, not "0"'],
    [["--port", "99999"], '--port must be a whole number from 1 to 65535, not "99999"'],
    [["--port"], "option --port needs a value"],
    [["--port", "--timeout", "3"], "option --port needs a value"],
    [["--timeout", "-1"], '--timeout must be a number of seconds, 0 for never, not "-1"'],
    [["--timeout", "abc"], '--timeout must be a number of seconds, 0 for never, not "abc"'],
    [["--host", ""], "--host needs a host name or address, not an empty one"],
    [
      ["--timeout", "2592000"],
      '--timeout must be at most 2,073,600 seconds (24 days), not "2592000"',
    ],
    [["--host", "999.1.1.1"], '--host: "999.1.1.1" is not an IP address'],
    [["--tls=yes"], "option --tls takes no value"],
    [["--nope"], "unknown option --nope"],
    [["--mode", "sequential"], "--mode is an option of bun run server, not of this program"],
    [["--expect", "once"], "--expect is an option of bun run probe, not of this program"],
    [["extra"], 'unexpected argument "extra"'],
  ] as const)("usage error %p: exit 2, one line", async (args, message) => {
    const client = run("client.ts", [...args]);
    expect(await client.exited).toBe(2);
    expect(client.err.all).toEqual([`error: ${message} (see: bun run client --help)`]);
  });

  concurrently("a bad environment variable is named: exit 2", async () => {
    const env = run("client.ts", [], { env: { ECHO_PORT: "x" } });
    expect(await env.exited).toBe(2);
    expect(env.err.all).toEqual([
      'error: ECHO_PORT must be a whole number from 1 to 65535, not "x" (see: bun run client --help)',
    ]);
  });
});
