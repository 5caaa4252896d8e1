/** TLS on both sides, and IPv6: the same exact echo, over other roads. */
import { beforeAll, describe, expect } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  concurrently,
  freePort,
  have,
  pipeThrough,
  randomBytes,
  run,
  runCommand,
  sha256,
  startServer,
} from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "echo-tls-"));
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
const otherCert = join(dir, "other.pem");
const otherKey = join(dir, "other-key.pem");

/** A throwaway self-signed certificate, made with openssl at test time. */
async function makeCert(certPath: string, keyPath: string, name: string) {
  const openssl = runCommand([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-subj",
    `/CN=${name}`,
    "-addext",
    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
  ]);
  expect(await openssl.exited).toBe(0);
}

beforeAll(async () => {
  await makeCert(cert, key, "echo test");
  await makeCert(otherCert, otherKey, "someone else");
});

const tlsArgs = () => ["--tls-cert", cert, "--tls-key", key];

describe("TLS", () => {
  concurrently(
    "the probe tells a TLS server probed without --tls, and a plain server probed with --tls, in both languages",
    async () => {
      const tlsServer = await startServer([...tlsArgs(), "--mode", "concurrent", "--quiet"]);
      const plain = await startServer(["--mode", "concurrent", "--quiet"]);
      const probe = (...args: string[]) => run("probe.ts", ["--timeout", "10", ...args]);
      const cases: [string[], string][] = [
        [
          ["--port", String(tlsServer.port)],
          `error: 127.0.0.1:${tlsServer.port} speaks TLS (it answers a TLS handshake, not plain text): add --tls, with --tls-ca FILE or --insecure for a self-signed certificate`,
        ],
        [
          ["--port", String(tlsServer.port), "--lang", "pt"],
          `erro: 127.0.0.1:${tlsServer.port} usa TLS (responde a um handshake TLS, não a texto puro): acrescente --tls, com --tls-ca ARQUIVO ou --insecure para um certificado autoassinado`,
        ],
        [
          ["--port", String(plain.port), "--tls", "--tls-ca", cert],
          `error: 127.0.0.1:${plain.port} does not speak TLS (it did not answer the handshake as TLS): leave out --tls`,
        ],
        [
          ["--port", String(plain.port), "--tls", "--insecure", "--lang", "pt"],
          `erro: 127.0.0.1:${plain.port} não usa TLS (não respondeu ao handshake como TLS): tire o --tls`,
        ],
      ];
      for (const [args, line] of cases) {
        const p = probe(...args);
        expect(await p.exited).toBe(1);
        expect(p.err.all.at(-1)).toBe(line);
        expect(p.out.text).not.toContain("crash");
      }
      // And with the right flag, the same TLS server passes.
      const good = probe(
        "--port",
        String(tlsServer.port),
        "--tls",
        "--tls-ca",
        cert,
        "--expect",
        "concurrent",
      );
      expect(await good.exited).toBe(0);
    },
  );

  concurrently.skipIf(!have("socat"))(
    "the probe tells a TLS server that only closes on plain text (socat, OpenSSL) too",
    async () => {
      const port = await freePort();
      const listen = `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${cert},key=${key},verify=0`;
      const socat = runCommand(["socat", "-d", "-d", listen, "EXEC:cat"]);
      await socat.err.waitFor("listening on");
      const p = run("probe.ts", ["--port", String(port), "--timeout", "10"]);
      expect(await p.exited).toBe(1);
      expect(p.err.all.at(-1)).toBe(
        `error: 127.0.0.1:${port} speaks TLS (it answers a TLS handshake, not plain text): add --tls, with --tls-ca FILE or --insecure for a self-signed certificate`,
      );
      expect(p.out.text).not.toContain("crash");
    },
  );

  concurrently.skipIf(!have("socat"))(
    "16 MiB through a TLS server with socat, which half-closes: exact",
    async () => {
      const server = await startServer([...tlsArgs(), "--quiet"]);
      expect(server.out.all[0]).toContain("(mode once, TLS)");
      const payload = randomBytes(16 << 20);
      const socat = await pipeThrough(
        ["socat", "-t", "30", "-", `OPENSSL:127.0.0.1:${server.port},cafile=${cert}`],
        payload,
      );
      expect(socat.code).toBe(0);
      expect(socat.output.length).toBe(payload.length);
      expect(sha256(socat.output)).toBe(sha256(payload));
      expect(await server.exited).toBe(0);
    },
  );

  concurrently("a Bun TLS peer that half-closes after 8 MiB gets all of it back", async () => {
    const server = await startServer([...tlsArgs(), "--quiet"]);
    const payload = randomBytes(8 << 20);
    const parts: Uint8Array[] = [];
    const { promise: ended, resolve } = Promise.withResolvers<void>();
    let at = 0;
    const pump = (socket: { write(d: Uint8Array): number; shutdown(): void }) => {
      while (at < payload.length) {
        const n = socket.write(payload.subarray(at, at + (256 << 10)));
        if (n <= 0) return; // 0 before the handshake, and when full: drain() comes back here
        at += n;
      }
      socket.shutdown(); // TLS close_notify + FIN: no more from us, still reading
    };
    await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      tls: { ca: await Bun.file(cert).text() },
      socket: {
        binaryType: "uint8array",
        handshake: (socket) => pump(socket),
        drain: (socket) => pump(socket),
        data: (_socket, chunk: Uint8Array) => void parts.push(chunk.slice()),
        close: () => resolve(),
      },
    });
    await ended;
    expect(sha256(parts)).toBe(sha256(payload));
  });

  concurrently(
    "the client verifies the server with --tls-ca, and prints echoes as usual",
    async () => {
      const server = await startServer(tlsArgs());
      const client = run("client.ts", ["--port", String(server.port), "--tls-ca", cert], {
        stdin: "oi\nação\n",
      });
      expect(await client.exited).toBe(0);
      expect(client.out.all).toEqual(["oi", "ação"]);
      expect(client.err.text).toContain("with TLS");
    },
  );

  concurrently(
    "a certificate it cannot verify: one line, exit 1; --insecure connects but says so loudly",
    async () => {
      const server = await startServer([...tlsArgs(), "--mode", "concurrent"]);
      const wrong = run("client.ts", ["--port", String(server.port), "--tls-ca", otherCert], {
        stdin: "oi\n",
      });
      expect(await wrong.exited).toBe(1);
      expect(wrong.err.all).toHaveLength(1);
      expect(wrong.err.text).toMatch(
        /^error: the TLS certificate of 127\.0\.0\.1:\d+ was not accepted: /,
      );
      expect(wrong.out.text).toBe("");

      const insecure = run("client.ts", ["--port", String(server.port), "--insecure"], {
        stdin: "oi\n",
      });
      expect(await insecure.exited).toBe(0);
      expect(insecure.out.all).toEqual(["oi"]);
      expect(insecure.err.text).toContain(
        "warning: --insecure: the server's certificate is NOT verified",
      );
    },
  );

  // Each case: the program, its exit status, its arguments (--tls-ca is the client's), its line.
  const fifo = join(dir, "fifo.pem");
  const huge = join(dir, "huge.pem");
  concurrently.each([
    ["server", 2, () => ["--tls-cert", cert], /^error: --tls-cert and --tls-key go together/],
    [
      "server",
      1,
      () => ["--tls-cert", join(dir, "nope.pem"), "--tls-key", key],
      /^error: cannot read the TLS certificate file ".*nope\.pem" \(ENOENT\)$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", cert, "--tls-key", dir],
      /^error: the TLS key file ".*" is not a regular file$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", "/dev/zero", "--tls-key", key],
      /^error: the TLS certificate file "\/dev\/zero" is not a regular file$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", fifo, "--tls-key", key],
      /^error: the TLS certificate file ".*fifo\.pem" is not a regular file$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", huge, "--tls-key", key],
      /^error: the TLS certificate file ".*huge\.pem" is over 1 MiB: not a PEM file$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", "package.json", "--tls-key", key],
      /^error: the TLS certificate file "package\.json" is not in PEM format/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", key, "--tls-key", cert],
      /^error: the TLS certificate file ".*key\.pem" holds no certificate \(are the certificate and the key swapped\?\)$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", cert, "--tls-key", otherKey],
      /^error: the TLS certificate or key was not accepted: the key does not belong to the certificate$/,
    ],
    [
      "client",
      1,
      () => ["--tls-ca", fifo],
      /^error: the TLS CA certificate file ".*fifo\.pem" is not a regular file$/,
    ],
    [
      "server",
      1,
      () => ["--tls-cert", join(dir, "two\nlines.pem"), "--tls-key", key],
      /^error: cannot read the TLS certificate file ".*two\\nlines\.pem" \(ENOENT\)$/,
    ],
  ] as const)(
    "bad TLS files, case %# (%s): one line, exit %d",
    async (program, code, args, line) => {
      if (!(await Bun.file(fifo).exists())) Bun.spawnSync(["mkfifo", fifo]);
      if (!(await Bun.file(huge).exists()))
        await Bun.write(huge, "-----BEGIN CERTIFICATE-----\n" + "A".repeat(2 << 20));
      const child = run(`${program}.ts`, ["--port", program === "server" ? "0" : "1", ...args()]);
      expect(await child.exited).toBe(code);
      expect(child.err.all).toHaveLength(1);
      expect(child.err.all[0]).toMatch(line);
    },
  );
});

describe("IPv6", () => {
  concurrently("--host ::1 works for the server and the client", async () => {
    const server = await startServer(["--host", "::1"]);
    expect(server.out.all[0]).toBe(`listening on [::1]:${server.port} (mode once)`);
    const client = run("client.ts", ["--host", "::1", "--port", String(server.port)], {
      stdin: "v6\n",
    });
    expect(await client.exited).toBe(0);
    expect(client.out.all).toEqual(["v6"]);
    expect(await server.exited).toBe(0);
    expect(server.out.text).toContain("#1 connected from [::1]:");
  });
});
