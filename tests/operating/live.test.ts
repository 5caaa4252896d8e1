/**
 * The live page in a real browser: Debian's Chromium, headless, driven over the DevTools
 * protocol with Bun's own WebSocket client. It must show the connection a client opened, its
 * byte count after an echo, and its going away when the client leaves. Chromium starts once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { have, Peer, runCommand, startServer, type Child } from "../helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const browserHere = have("chromium") || (await Bun.file(CHROMIUM).exists());

/** One page of a headless Chromium, and a way to ask it things. */
class Browser {
  private next = 1;
  private pending = new Map<number, (result: unknown) => void>();
  private constructor(
    readonly proc: Child,
    private ws: WebSocket,
  ) {
    ws.onmessage = (m) => {
      const reply = JSON.parse(String(m.data));
      this.pending.get(reply.id)?.(reply.result);
      this.pending.delete(reply.id);
    };
  }

  static async start(): Promise<Browser> {
    const proc = runCommand([
      CHROMIUM,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--remote-allow-origins=*",
      "--remote-debugging-port=0",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "echo-chromium-"))}`,
      "--window-size=1280,900",
      "about:blank",
    ]);
    const line = await proc.err.waitFor(/DevTools listening on ws:\/\//);
    const port = /:(\d+)\//.exec(line)![1];
    const reply = await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: "PUT" });
    const target = (await reply.json()) as { webSocketDebuggerUrl: string };
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
    return new Browser(proc, ws);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  async text(selector: string): Promise<string> {
    const r = await this.send("Runtime.evaluate", {
      expression: `document.querySelector(${JSON.stringify(selector)})?.innerText ?? ""`,
      returnByValue: true,
    });
    return r.result.value;
  }

  /** Waits until the page shows what `ok` looks for (it updates on its own, up to 10 times/s). */
  async shows(selector: string, ok: (text: string) => boolean): Promise<string> {
    for (;;) {
      const text = await this.text(selector);
      if (ok(text)) return text;
      await Bun.sleep(50); // polling the page, bounded by the test's timeout
    }
  }

  close(): void {
    this.ws.close();
    this.proc.proc.kill("SIGKILL");
  }
}

describe.skipIf(!browserHere)("the live page in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => (browser = await Browser.start()), 20_000);
  afterAll(() => browser?.close());

  test("a client's connection appears, its bytes count up after the echo, and it goes away", async () => {
    const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--quiet"]);
    const http = Number(/:(\d+)\//.exec(await server.out.waitFor(/^health and metrics on/))![1]);
    await browser.send("Page.navigate", { url: `http://127.0.0.1:${http}/` });
    await browser.shows("#status", (t) => t.startsWith("live"));

    const peer = new Peer(server.port);
    await peer.send(new Uint8Array(1000).fill(0x61));
    await peer.until(1000);
    const row = await browser.shows("#rows", (t) =>
      /#1\s+127\.0\.0\.1:\d+\s+echoing\s+1,000\s+1,000/.test(t),
    );
    expect(row).toContain(`127.0.0.1:${peer.socket.localPort}`);
    expect(await browser.shows("#open", (t) => t === "1")).toBe("1");
    const events = await browser.shows("#events", (t) => t.includes("#1 data 1000"));
    expect(events).toMatch(/#1 open 127\.0\.0\.1:\d+/);

    peer.finish();
    await peer.ended;
    expect(await browser.shows("#rows", (t) => !t.includes("#1"))).toBe("");
    expect(await browser.text("#connections")).toBe("1");
    expect(await browser.shows("#events", (t) => t.includes("#1 close"))).toContain("#1 end");
  }, 30_000);

  test("read-only, offline, in the server's language: no external asset, no control", async () => {
    const server = await startServer(["--mode", "concurrent", "--http-port", "0", "--lang", "pt"]);
    const http = Number(/:(\d+)\//.exec(await server.out.waitFor(/^saúde e métricas em/))![1]);
    const html = await (await fetch(`http://127.0.0.1:${http}/`)).text();
    expect(html).toContain('lang="pt-BR"');
    expect(html).toContain("conexões abertas");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing fetched from elsewhere
    expect(html).not.toMatch(/<(button|form|input)/);
  });
});

test("without a watcher, the trace hook records nothing (the page costs nothing unwatched)", async () => {
  const { LiveView } = await import("../../src/server/features/http/live.ts");
  const published: string[] = [];
  const view = new LiveView(
    () => ({ rows: [], open: 0, connections: 0, received: 0, echoed: 0 }),
    (json) => published.push(json),
  );
  const calls: string[] = [];
  const trace = view.tap((_id, event) => calls.push(event));
  trace(1, "data", 10);
  expect(JSON.parse(view.joined()).events).toEqual([]); // nothing kept from before
  trace(1, "data", 20);
  expect(JSON.parse(view.snapshot()).events).toMatchObject([
    { id: 1, event: "data", detail: "20" },
  ]);
  expect(calls).toEqual(["data", "data"]); // --trace itself still sees everything
});
