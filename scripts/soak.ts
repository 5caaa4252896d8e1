#!/usr/bin/env bun
/**
 * Soak: minutes of mixed traffic against the echo server, then a report.
 *
 *   bun run soak                      # 60 s against a server it starts (concurrent, quiet)
 *   bun run soak --seconds 300
 *   bun run soak --port 5000          # against a server you started
 *
 * Traffic (loopback only): clients that send random payloads in random pieces and check every
 * byte; slow readers; clients that reset mid-echo; connect-and-drop storms. Reports bytes
 * echoed and verified, errors, and the server's memory at the start and the end.
 * Exit status 0 when every echo was exact.
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { Outbox } from "../src/outbox.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    seconds: { type: "string", default: "60" },
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    clients: { type: "string", default: "32" },
  },
});
const seconds = Math.min(Math.max(Number(values.seconds), 1), 3600); // bounded
const clients = Math.min(Math.max(Number(values.clients), 1), 1000);
const host = values.host!;
if (host !== "127.0.0.1" && host !== "::1" && host !== "localhost") {
  console.error("error: the soak only runs against this machine (127.0.0.1, ::1)");
  process.exit(2);
}

// The server under test: the project's own unless --port names one.
let server: Bun.Subprocess<"ignore", "pipe", "inherit"> | undefined;
let port = Number(values.port ?? 0);
if (!values.port) {
  server = Bun.spawn(
    [
      process.execPath,
      "server.ts",
      "--mode",
      "concurrent",
      "--quiet",
      "--port",
      "0",
      "--max-connections",
      "100000",
    ],
    { cwd: `${import.meta.dir}/..`, stdin: "ignore", stdout: "pipe", stderr: "inherit" },
  );
  const reader = server.stdout.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  port = Number(/:(\d+) \(/.exec(first)?.[1]);
  reader.releaseLock();
}
const rss = async () =>
  server
    ? Number(/VmRSS:\s+(\d+)/.exec(await Bun.file(`/proc/${server.pid}/status`).text())?.[1]) * 1024
    : NaN;

const totals = { echoed: 0, exchanges: 0, mismatches: 0, errors: 0, resets: 0, storms: 0 };
const deadline = performance.now() + seconds * 1000;
const rand = (n: number) => Math.floor(Math.random() * n);
const MiB = 1 << 20;

/** One exchange: connect, send `size` random bytes in random pieces, read all back, compare. */
function exchange(size: number, opts: { slowReader?: boolean; resetAfter?: number } = {}) {
  return new Promise<void>((done) => {
    const payload = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
    const sent = createHash("sha256");
    const got = createHash("sha256");
    const outbox = new Outbox();
    let offered = 0;
    let received = 0;
    let finished = false;
    const finish = (ok: boolean) => {
      if (finished) return;
      finished = true;
      if (!ok) totals.errors++;
      done();
    };
    const pump = (socket: Bun.Socket) => {
      while (offered < size && outbox.empty) {
        const piece = payload.subarray(0, Math.min(1 + rand(payload.length), size - offered));
        sent.update(piece);
        offered += piece.length;
        outbox.send(socket, piece.slice());
      }
      if (offered >= size && outbox.empty) socket.shutdown();
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        binaryType: "uint8array",
        open(socket) {
          if (opts.slowReader) {
            socket.pause();
            setTimeout(() => socket.resume(), 200 + rand(800));
          }
          pump(socket);
        },
        drain(socket) {
          if (outbox.flush(socket)) pump(socket);
        },
        data(socket, chunk: Uint8Array) {
          got.update(chunk);
          received += chunk.length;
          if (opts.resetAfter !== undefined && received >= opts.resetAfter) {
            totals.resets++;
            finish(true); // first: terminate() calls close() at once
            socket.terminate();
          }
        },
        close() {
          if (finished) return;
          totals.echoed += received;
          totals.exchanges++;
          const exact = received === size && got.digest("hex") === sent.digest("hex");
          if (!exact) totals.mismatches++;
          finish(exact);
        },
        connectError: () => finish(false),
        error: () => {},
      },
    }).catch(() => finish(false));
  });
}

async function worker(kind: number) {
  while (performance.now() < deadline) {
    if (kind % 8 === 0) await exchange(MiB + rand(4 * MiB), { slowReader: true });
    else if (kind % 8 === 1) await exchange(4 * MiB, { resetAfter: rand(MiB) });
    else if (kind % 8 === 2) {
      const batch = Array.from({ length: 50 }, () =>
        Bun.connect({ hostname: host, port, socket: { data() {}, error() {} } }).then(
          (socket) => socket.end(),
          () => {},
        ),
      );
      await Promise.all(batch);
      totals.storms++;
    } else await exchange(1 + rand(rand(2) ? 4096 : 2 * MiB));
  }
}

const startRss = await rss();
const progress = setInterval(() => {
  const left = Math.max(0, (deadline - performance.now()) / 1000).toFixed(0);
  console.error(
    `  ${left} s left: ${(totals.echoed / MiB).toFixed(0)} MiB echoed, ${totals.exchanges} exchanges, ${totals.errors} errors`,
  );
}, 10_000);
await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));
clearInterval(progress);
await Bun.sleep(500); // let the server settle before the last memory reading
const endRss = await rss();
server?.kill("SIGTERM");
const code = server ? await server.exited : 0;

const mb = (n: number) =>
  Number.isNaN(n) ? "n/a (external server)" : `${(n / MiB).toFixed(1)} MiB`;
console.log(`soak: ${seconds} s, ${clients} clients against ${host}:${port}
  bytes echoed and verified: ${totals.echoed.toLocaleString("en-US")} (${(totals.echoed / MiB / seconds).toFixed(1)} MiB/s)
  exchanges: ${totals.exchanges}, resets mid-echo: ${totals.resets}, connect/drop storms: ${totals.storms} x 50
  mismatches: ${totals.mismatches}, other errors: ${totals.errors - totals.mismatches}
  server memory: start ${mb(startRss)}, end ${mb(endRss)}
  server exit status after SIGTERM: ${server ? code : "n/a"}`);
process.exit(totals.mismatches === 0 && code === 0 ? 0 : 1);
