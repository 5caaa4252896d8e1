/**
 * Logs a machine can read: with --log-format json every line the server writes, on stdout and on
 * stderr, is one JSON object with level, pid, time and event, whose values are codes and numbers
 * (never words, whatever the language); --log-level chooses what is logged; a burst of refusals
 * is one line a second with a count.
 */
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Socket, type TCPSocketListener } from "bun";
import { BUN, concurrently, Peer, run, runCommand, until, type Child } from "../helpers.ts";
import { bursts, type Ticker } from "../../src/common/say.ts";

/** A Portuguese-speaking machine, and the server told to speak Portuguese too. */
const PT = { LANG: "pt_BR.UTF-8" };
const JSON_PT = ["--log-format", "json", "--lang", "pt"];

type Record_ = { [field: string]: unknown; level: string; event: string; pid: number };

/** Every line of both streams, parsed: one that is not a JSON object fails the test. */
function recordsOf(child: Child): { out: Record_[]; err: Record_[] } {
  const parse = (line: string) => {
    const r = JSON.parse(line) as Record_;
    expect(r).toBeObject();
    return r;
  };
  return { out: child.out.all.map(parse), err: child.err.all.map(parse) };
}

/** What every record holds; and no value is words: a code, a number, an address, a time. */
function expectMachineReadable(records: Record_[], pid?: number): void {
  for (const r of records) {
    expect(r.event === "trace" ? ["debug"] : ["info", "warn", "error"]).toContain(r.level);
    expect(r.event).toMatch(/^[a-z][A-Za-z]+$/);
    expect(typeof r.pid).toBe("number");
    if (pid !== undefined && r.worker === undefined) expect(r.pid).toBe(pid);
    expect(new Date(r.time as string).toISOString()).toBe(r.time as string);
    for (const value of Object.values(r))
      if (typeof value === "string") expect(value).toMatch(/^[\x21-\x7e]+$/); // no space, no "ç"
  }
}

const lines = (child: Child) => [...child.out.all, ...child.err.all].join("\n");
const listeningPort = async (child: Child) =>
  (JSON.parse(await child.out.waitFor(/"event":"listening"/)) as { port: number }).port;

describe("--log-format json: every line, in every language, a JSON object of codes", () => {
  concurrently(
    "behind PROXY: a client, a files-limit warning, bad headers (rate-limited), an idle timeout, the stop",
    async () => {
      const server = runCommand(
        [
          "sh",
          "-c",
          `ulimit -n 128 && exec "${BUN}" server.ts --port 0 --mode concurrent --proxy-protocol --idle-timeout 1 ${JSON_PT.join(" ")}`,
        ],
        { env: PT },
      );
      const port = await listeningPort(server);
      // A client, named by its balancer's header.
      const client = new Peer(port);
      await client.send(Buffer.from("PROXY TCP4 192.0.2.1 127.0.0.1 5555 80\r\noi\n"));
      await client.until(3);
      client.finish();
      await client.ended;
      await server.out.waitFor(/"event":"close".*"id":1,/);
      // 20 connections that are not from a balancer: refused, each counted, few lines.
      const strangers = Array.from({ length: 20 }, () => new Peer(port));
      for (const s of strangers) s.socket.write("GET / HTTP/1.0\r\n\r\n");
      await Promise.all(strangers.map((s) => s.ended));
      const told = () => {
        const { out } = recordsOf(server);
        const refused = out.filter((r) => r.event === "refused").length;
        const more = out.filter((r) => r.event === "refusedMore");
        return { refused, counted: more.reduce((n, r) => n + (r.count as number), refused) };
      };
      expect(await until(() => told().counted === 20)).toBe(true);
      expect(told().refused).toBeLessThan(20);
      // A client that sends its header and then nothing.
      const idle = new Peer(port);
      idle.socket.write("PROXY TCP4 192.0.2.2 127.0.0.1 6666 80\r\n");
      await idle.ended;
      await server.out.waitFor(/"reason":"idle_timeout"/);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);

      const { out, err } = recordsOf(server);
      expectMachineReadable([...out, ...err], server.proc.pid);
      expect(err).toEqual([
        expect.objectContaining({ level: "warn", event: "filesLimitLower", limit: 128, max: 96 }),
      ]);
      expect(out.find((r) => r.event === "open" && r.id === 1)).toMatchObject({
        level: "info",
        ip: "192.0.2.1",
        port: 5555,
        balancer_ip: "127.0.0.1",
        balancer_port: expect.any(Number),
        proxy: 1,
      });
      expect(out.find((r) => r.event === "refused")).toMatchObject({
        level: "warn",
        reason: "proxy_header",
        problem: "signature",
        ip: "127.0.0.1",
      });
      expect(out.filter((r) => r.event === "refusedMore")).not.toEqual([]);
      for (const r of out.filter((r) => r.event === "refusedMore"))
        expect(r).toMatchObject({ level: "warn", reason: "proxy_header" });
      expect(out.find((r) => r.reason === "idle_timeout")).toMatchObject({
        event: "close",
        level: "info",
      });
      expect(out.at(-1)).toMatchObject({ event: "stopped", level: "info", connections: 22 });
      expect(out.some((r) => "worker" in r)).toBe(false); // a lone server is no worker
    },
  );

  concurrently(
    "--workers 2: each worker's lines carry its number; a SIGKILLed worker, the supervisor's lines",
    async () => {
      const args = ["--port", "0", "--mode", "concurrent", "--workers", "2", ...JSON_PT];
      const server = run("server.ts", args, { env: PT });
      const port = await listeningPort(server);
      const client = new Peer(port);
      await client.send(Buffer.from("oi\n"));
      await client.until(3);
      const open = JSON.parse(await server.out.waitFor(/"event":"open"/)) as Record_;
      expect([1, 2]).toContain(open.worker as number);
      process.kill(open.pid, "SIGKILL");
      await client.ended;
      await server.err.waitFor(/"event":"workerDied"/);
      const back = JSON.parse(await server.out.waitFor(/"event":"workerRestarted"/)) as Record_;
      expect(back).toMatchObject({ level: "info", pid: server.proc.pid, child: open.worker });
      expect(back.child_pid).not.toBe(open.pid);
      server.proc.kill("SIGTERM");
      expect(await server.exited).toBe(0);

      const { out, err } = recordsOf(server);
      expectMachineReadable([...out, ...err], server.proc.pid);
      expect(err).toEqual([
        {
          time: expect.any(String),
          level: "warn",
          event: "workerDied",
          pid: server.proc.pid, // the supervisor's line: no worker of its own...
          child: open.worker, // ...about this one
          child_pid: open.pid,
          signal: "SIGKILL",
        },
      ]);
      for (const r of out.filter((r) => ["open", "data"].includes(r.event)))
        expect(r).toMatchObject({ worker: open.worker, pid: open.pid });
      expect(out[0]).toMatchObject({ event: "listening", port, pid: server.proc.pid });
      expect(out[0]).not.toHaveProperty("worker");
      expect(out.at(-1)).toMatchObject({ event: "stopped", level: "info" });
      expect(out.at(-1)).not.toHaveProperty("worker");
    },
  );

  concurrently(
    "--max-connections reached, and a drain cut short by a second stop signal: warnings",
    async () => {
      const args = ["--port", "0", "--mode", "concurrent", "--max-connections", "1", ...JSON_PT];
      const server = run("server.ts", args, { env: PT });
      const port = await listeningPort(server);
      const first = new Peer(port);
      await server.out.waitFor(/"event":"open"/);
      const second = new Peer(port);
      await second.ended;
      await server.err.waitFor(/"event":"limitReached"/);
      server.proc.kill("SIGTERM");
      await server.out.waitFor(/"event":"stopping"/);
      server.proc.kill("SIGINT"); // another signal: a second SIGTERM this soon is taken for a copy
      expect(await server.exited).toBe(130);
      first.close();

      const { out, err } = recordsOf(server);
      expectMachineReadable([...out, ...err], server.proc.pid);
      expect(err).toEqual([
        expect.objectContaining({ level: "warn", event: "limitReached", max: 1 }),
      ]);
      expect(out.find((r) => r.event === "forced")).toMatchObject({ level: "warn", open: 1 });
      expect(out.at(-1)).toMatchObject({ event: "stopped", level: "info" });
    },
  );

  concurrently("errors after the options were read: one JSON line each, exit 1", async () => {
    const taken: TCPSocketListener<undefined> = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data() {} } as { data(s: Socket<undefined>): void },
    });
    try {
      const runs = {
        tls: run("server.ts", [...JSON_PT, "--tls-cert", "/nonexistent/c.pem", "--tls-key", "k"], {
          env: PT,
        }),
        port: run("server.ts", [...JSON_PT, "--port", String(taken.port)], { env: PT }),
        http: run("server.ts", [...JSON_PT, "--port", "0", "--http-port", String(taken.port)], {
          env: PT,
        }),
        udp: run("server.ts", [...JSON_PT, "--udp", "--host", "192.0.2.1"], { env: PT }),
      };
      const seen: Record<string, Record_[]> = {};
      for (const [name, child] of Object.entries(runs)) {
        expect(await child.exited).toBe(1);
        const { out, err } = recordsOf(child);
        expectMachineReadable([...out, ...err], child.proc.pid);
        seen[name] = err;
      }
      expect(seen.tls).toEqual([
        expect.objectContaining({ level: "error", event: "tlsFile", file: "certificate" }),
      ]);
      expect(seen.port).toEqual([
        expect.objectContaining({ level: "error", event: "listenFailed", error: "in_use" }),
      ]);
      expect(seen.http).toEqual([
        expect.objectContaining({ level: "error", event: "httpFailed", error: "in_use" }),
      ]);
      expect(seen.udp).toEqual([
        expect.objectContaining({ level: "error", event: "listenFailed", error: "not_available" }),
      ]);
    } finally {
      taken.stop(true);
    }
  });

  concurrently("--udp: a datagram's sender as ip and port, and the summary; --trace", async () => {
    const server = run("server.ts", ["--udp", "--port", "0", "--trace", ...JSON_PT], { env: PT });
    const port = await listeningPort(server);
    const socket = createSocket("udp4");
    try {
      const echoed = new Promise((resolve) => socket.once("message", resolve));
      socket.send("oi\n", port, "127.0.0.1");
      await echoed;
      await server.out.waitFor(/"event":"datagram"/);
    } finally {
      socket.close();
    }
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const { out, err } = recordsOf(server);
    expectMachineReadable([...out, ...err], server.proc.pid);
    expect(out.map((r) => r.event)).toEqual(["listening", "datagram", "stopped"]);
    expect(out[1]).toMatchObject({ ip: "127.0.0.1", port: expect.any(Number), bytes: 3 });
    expect(out[2]).toMatchObject({ level: "info", datagrams: 1, bytes: 3 });
    expect(err.map((r) => r.event)).toContain("trace");
    for (const r of err) expect(r).toMatchObject({ level: "debug", event: "trace" });
    expect(err.find((r) => r.call === "datagram")).toMatchObject({
      details: [expect.stringMatching(/^127\.0\.0\.1:\d+$/), 3],
    });
    expect(lines(server)).not.toContain("datagrama"); // the words stay in the text lines
  });

  concurrently("--unix: the peer is the code unix, not the words for a local process", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "echo-logs-")), "echo.sock");
    const args = ["--unix", path, "--mode", "concurrent", ...JSON_PT];
    const server = run("server.ts", args, { env: PT });
    await server.out.waitFor(/"event":"listening"/);
    const echoed = Promise.withResolvers<void>();
    const client = await Bun.connect({
      unix: path,
      socket: { data: () => echoed.resolve() },
    });
    client.write("oi\n");
    await echoed.promise;
    client.end();
    await server.out.waitFor(/"event":"close"/);
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const { out, err } = recordsOf(server);
    expectMachineReadable([...out, ...err], server.proc.pid);
    expect(out[0]).toMatchObject({ event: "listening", path });
    expect(out.find((r) => r.event === "open")).toMatchObject({ id: 1, peer: "unix" });
  });
});

describe("--log-level: what is logged", () => {
  concurrently.each([
    ["data", ["listening", "open", "data", "data", "close", "stopped"]],
    ["connections", ["listening", "open", "close", "stopped"]],
    ["warn", ["listening"]],
    ["error", ["listening"]],
  ] as const)("--log-level %s", async (level, events) => {
    const args = ["--port", "0", "--mode", "concurrent", "--log-format", "json"];
    const server = run("server.ts", [...args, "--log-level", level]);
    const client = new Peer(await listeningPort(server));
    await client.send(Buffer.from("a\n"));
    await client.until(2);
    await client.send(Buffer.from("b\n"));
    await client.until(4);
    client.finish();
    await client.ended;
    // The close is the last line of the connection (when shown): the stop comes after it.
    if (level === "data" || level === "connections") await server.out.waitFor(/"event":"close"/);
    server.proc.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(recordsOf(server).out.map((r) => r.event)).toEqual([...events]);
  });
});

describe("a burst of lines of one kind", () => {
  /** A ticker the test turns by hand: no clock. */
  const manual = () => {
    const ticks: (() => void)[] = [];
    const ticker: Ticker = (tick) => {
      ticks.push(tick);
      return () => ticks.splice(ticks.indexOf(tick), 1);
    };
    return { ticker, tick: () => [...ticks].forEach((tick) => tick()), ticks };
  };

  test("the first is told, the rest counted once a tick; quiet again after an empty tick", () => {
    const { ticker, tick, ticks } = manual();
    const { burst } = bursts(ticker);
    const said: string[] = [];
    const knock = (kind: string) =>
      burst(
        kind,
        () => said.push(`${kind} first`),
        (n) => said.push(`${kind} +${n}`),
      );
    for (let i = 0; i < 2000; i++) knock("proxy_header");
    knock("max_connections"); // another kind has its own burst
    expect(said).toEqual(["proxy_header first", "max_connections first"]);
    tick();
    expect(said.slice(2)).toEqual(["proxy_header +1999"]);
    knock("proxy_header");
    tick(); // one more in that second; none for max_connections: its burst ends
    expect(said.slice(3)).toEqual(["proxy_header +1"]);
    expect(ticks.length).toBe(1);
    tick(); // nothing in that second: the burst ends
    expect(ticks.length).toBe(0);
    knock("proxy_header");
    expect(said.slice(4)).toEqual(["proxy_header first"]);
  });

  test("at a stop, what a burst still holds is told at once, and only once", () => {
    const { ticker } = manual();
    const { burst, settle } = bursts(ticker);
    const said: string[] = [];
    for (let i = 0; i < 5; i++)
      burst(
        "untrusted",
        () => said.push("first"),
        (n) => said.push(`+${n}`),
      );
    settle();
    settle();
    expect(said).toEqual(["first", "+4"]);
  });
});
