/**
 * --workers and SIGHUP off a terminal: the workers are replaced one by one, each new one reading
 * the TLS files again, while the old ones drain; nobody is dropped.
 */
import { beforeAll, describe, expect } from "bun:test";
import { copyFileSync, mkdtempSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  concurrently,
  randomBytes,
  run,
  runCommand,
  startServer,
  TEST_TIMEOUT_MS,
} from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "echo-reload-"));
const files = (name: string) => [join(dir, `${name}.pem`), join(dir, `${name}-key.pem`)] as const;

/** A throwaway self-signed certificate named `name` (its subject's CN), made with openssl. */
async function makeCert(name: string) {
  const [certPath, keyPath] = files(name);
  const openssl = runCommand(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
      .concat(["-keyout", keyPath, "-out", certPath, "-subj", `/CN=${name}`])
      .concat(["-addext", "subjectAltName=IP:127.0.0.1"]),
  );
  expect(await openssl.exited).toBe(0);
}

/**
 * The files a server reads, one pair per test (they run side by side), and how to put
 * certificate `name` there (as certbot or cert-manager do).
 */
function serverFiles() {
  const own = mkdtempSync(join(dir, "server-"));
  const [cert, key] = [join(own, "cert.pem"), join(own, "key.pem")];
  const rotateTo = (name: string) => {
    const [certPath, keyPath] = files(name);
    copyFileSync(certPath, cert);
    copyFileSync(keyPath, key);
  };
  return { cert, key, rotateTo };
}

beforeAll(async () => {
  await Promise.all([makeCert("reload-old"), makeCert("reload-new")]);
});

/** The subject a new connection is shown, as `openssl s_client` prints it. */
async function subjectSeen(port: number): Promise<string> {
  const client = runCommand(["openssl", "s_client", "-connect", `127.0.0.1:${port}`], {
    stdin: "",
  });
  await client.exited;
  return /^subject=.*$/m.exec(client.out.text)?.[0] ?? client.out.text;
}

/** A TLS client (node:tls: not the project's code) that checks each echo byte for byte. */
class TlsPeer {
  private readonly socket: TLSSocket;
  private got = Buffer.alloc(0);
  private wanted?: { size: number; resolve: () => void; reject: (e: Error) => void };
  readonly ready: Promise<void>;
  constructor(port: number) {
    this.socket = connect({ port, host: "127.0.0.1", rejectUnauthorized: false });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("secureConnect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (chunk: Buffer) => {
      this.got = Buffer.concat([this.got, chunk]);
      if (this.wanted && this.got.length >= this.wanted.size) this.wanted.resolve();
    });
    const gone = (e?: Error) =>
      this.wanted?.reject(e ?? new Error(`closed after ${this.got.length} bytes`));
    this.socket.on("error", gone);
    this.socket.on("close", () => gone());
  }
  get subject(): string {
    return String(this.socket.getPeerCertificate().subject?.CN ?? "");
  }
  /** Sends `data`, waits for its echo; throws unless it came back exact. */
  async roundTrip(data: Uint8Array): Promise<void> {
    this.got = Buffer.alloc(0);
    const back = new Promise<void>((resolve, reject) => {
      this.wanted = { size: data.length, resolve, reject };
    });
    this.socket.write(data);
    await back;
    if (!this.got.equals(Buffer.from(data))) throw new Error("the echo differs");
  }
  close(): void {
    this.socket.end();
  }
}

describe("--workers: SIGHUP reloads", () => {
  concurrently(
    "new connections get the rotated certificate, those opened before keep echoing, 0 failed sessions under load, /readyz 200 throughout",
    async () => {
      const { cert, key, rotateTo } = serverFiles();
      rotateTo("reload-old");
      const server = await startServer(
        ["--mode", "concurrent", "--workers", "2", "--tls-cert", cert, "--tls-key", key].concat([
          "--http-port",
          "0",
          "--drain-idle",
          "0",
        ]),
      );
      const line = await server.out.waitFor(/^health and metrics on http:\/\//);
      const http = Number(/:(\d+)\//.exec(line)![1]);
      const readyz = async () => (await fetch(`http://127.0.0.1:${http}/readyz`)).status;
      expect(await subjectSeen(server.port)).toMatch(/CN ?= ?reload-old/);

      const before = new TlsPeer(server.port);
      await before.ready;
      await before.roundTrip(randomBytes(1000));

      // A bounded load through the reload: clients doing round trips on their connection
      // until the reload is done and three more after it, then a new session each.
      let reloaded = false;
      let [sessions, echoed] = [0, 0];
      const failures: string[] = [];
      const session = async (goOn: (r: number) => boolean) => {
        sessions++;
        const peer = new TlsPeer(server.port);
        try {
          await peer.ready;
          for (let r = 0; goOn(r); r++) {
            const data = randomBytes(1 + Math.floor(Math.random() * 20_000));
            await peer.roundTrip(data);
            echoed += data.length;
          }
        } catch (error) {
          failures.push(String(error));
        } finally {
          peer.close();
        }
      };
      const client = async () => {
        let after = 0;
        // At most 2,000 round trips: bounded even if the reload never ends.
        await session((r) => r < 2000 && (!reloaded || after++ < 3));
        await session((r) => r < 3);
      };
      const statuses = new Set<number>();
      const load = Promise.all([client(), client(), client(), client()]);

      rotateTo("reload-new");
      server.proc.kill("SIGHUP");
      await server.out.waitFor("reloading (SIGHUP): replacing the 2 workers one by one");
      // /readyz as a balancer asks it, all through the reload.
      while (!server.out.all.some((l) => l.startsWith("reloaded"))) statuses.add(await readyz());
      reloaded = true;
      expect(await server.out.waitFor(/^reloaded/)).toBe(
        "reloaded: 2 new workers serve (each old one exits once its connections have ended)",
      );
      await load;
      expect(failures).toEqual([]);
      expect(statuses).toEqual(new Set([200]));

      expect(await subjectSeen(server.port)).toMatch(/CN ?= ?reload-new/);
      // Opened before: still on its old worker, with the old certificate, still echoing.
      expect(before.subject).toBe("reload-old");
      await before.roundTrip(randomBytes(5000));
      const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      expect(metrics).toContain("echo_worker_restarts_total 0");
      // Every connection counted once: the load's, the one before, the two s_client ones.
      const total = sessions + 1 + 2;
      expect(metrics).toContain(`echo_connections_total ${total}`);

      before.close();
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.err.text).toBe("");
      expect(server.out.text).not.toContain("ended unexpectedly");
      // Ids stay unique: the old and the new worker K number from one shared counter.
      const ids = server.out.all.flatMap((l) => /^#(\d+) closed/.exec(l)?.slice(1) ?? []);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      const bytes = (echoed + 1000 + 5000).toLocaleString("en-US");
      expect(server.out.text).toContain(`stopped: ${total} connections, ${bytes} bytes echoed`);
    },
    TEST_TIMEOUT_MS,
  );

  concurrently(
    "a new worker that cannot start stops the reload, the old ones keep serving; a later SIGHUP succeeds (JSON lines)",
    async () => {
      const { cert, key, rotateTo } = serverFiles();
      rotateTo("reload-old");
      const server = run("server.ts", [
        ...["--port", "0", "--mode", "concurrent", "--workers", "2", "--log-format", "json"],
        ...["--tls-cert", cert, "--tls-key", key],
      ]);
      const port = JSON.parse(await server.out.waitFor(/"event":"listening"/)).port as number;
      // A key that is not the certificate's: each new worker refuses it.
      copyFileSync(files("reload-new")[1], key);
      server.proc.kill("SIGHUP");
      const failed = JSON.parse(await server.err.waitFor(/"event":"reloadFailed"/));
      expect(failed).toMatchObject({ level: "error", child: 1, replaced: 0 });
      // The new worker's own line names the port it was to join, not the 0 it was given.
      const why = JSON.parse(server.err.all.find((l: string) => l.includes('"listenFailed"'))!);
      expect(why).toMatchObject({ worker: 1, port, error: "tls_invalid" });
      expect(await subjectSeen(port)).toMatch(/CN ?= ?reload-old/);
      const peer = new TlsPeer(port);
      await peer.ready;
      await peer.roundTrip(randomBytes(3000));
      peer.close();

      rotateTo("reload-new");
      server.proc.kill("SIGHUP");
      const done = JSON.parse(await server.out.waitFor(/"event":"reloaded"/));
      expect(done).toMatchObject({ level: "info", workers: 2 });
      expect(await subjectSeen(port)).toMatch(/CN ?= ?reload-new/);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0); // the failed replacement is not the server's failure
      const events = server.out.all.map((line: string) => JSON.parse(line).event as string);
      expect(events.filter((e) => e === "reloading")).toHaveLength(2);
      expect(server.err.all.map((line: string) => JSON.parse(line).event as string)).not.toContain(
        "workerDied",
      );
    },
    TEST_TIMEOUT_MS,
  );
});
