#!/usr/bin/env bun
/**
 * echo client, the active side of the lab: sends each line you type and prints its echo once.
 *
 *   terminal 1                                   terminal 2
 *   $ bun run server                             $ bun run client
 *   listening on 127.0.0.1:5000 (mode once)      connected to 127.0.0.1:5000; type a message...
 *   #1 connected from 127.0.0.1:40312            > oi
 *   #1 received 3 bytes: "oi\n"                  oi
 *                                                > fim        (closes the connection; not sent)
 *
 * Echoes go to stdout and nothing else does, so `printf 'oi\nfim\n' | bun run client > out`
 * leaves just `oi` in out. Prompt, hints and errors go to stderr.
 */
import { parseArgs } from "node:util";
import type { Socket } from "bun";
import pkg from "./package.json";
import { messagesFor } from "./src/messages/index.ts";
import { describeParseError, parsePort, parseSeconds, pick, UsageError } from "./src/options.ts";
import { Outbox } from "./src/outbox.ts";
import { formatAddress } from "./src/text.ts";
import { connectErrorMessage, errorCode } from "./src/errors.ts";
import { EchoTimeout, EchoWaiter } from "./src/echo-waiter.ts";
import { isStopWord, lines, withoutCR } from "./src/lines.ts";
import { readCa } from "./src/tls.ts";
import { paintLine, stylesFor } from "./src/colors.ts";
import { traceTo, tracedSink } from "./src/trace.ts";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = "5000";
const DEFAULT_TIMEOUT_S = "10"; // seconds without a byte of the awaited echo

// ---- command line -------------------------------------------------------------------------------
const argv = Bun.argv.slice(2);
const { t, badLang } = messagesFor(argv, process.env);
const out = stylesFor(process.stdout.isTTY, process.env);
const err = stylesFor(process.stderr.isTTY, process.env);
const { host, port, timeout, tls, tracing } = (() => {
  try {
    if (badLang !== undefined) throw new UsageError(t.badLang(badLang));
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        timeout: { type: "string" },
        tls: { type: "boolean" },
        "tls-ca": { type: "string" },
        insecure: { type: "boolean" },
        trace: { type: "boolean" },
        lang: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
    if (values.help) exit(0, t.clientHelp, false);
    if (values.version) exit(0, pkg.version, false);
    const env = process.env;
    const port = pick(values.port, "--port", env.ECHO_PORT, "ECHO_PORT", DEFAULT_PORT);
    return {
      host: pick(values.host, "--host", env.ECHO_HOST, "ECHO_HOST", DEFAULT_HOST).value,
      port: parsePort(t, port.value, port.source, false),
      timeout: parseSeconds(t, values.timeout ?? DEFAULT_TIMEOUT_S, "--timeout"),
      tracing: values.trace === true,
      // --tls-ca and --insecure only make sense with TLS, so they imply it.
      tls:
        values.tls || values["tls-ca"] !== undefined || values.insecure
          ? { ca: values["tls-ca"], insecure: values.insecure === true }
          : undefined,
    };
  } catch (error) {
    const problem = error instanceof UsageError ? error.message : describeParseError(t, error);
    return exit(2, t.usageError(problem, "client"));
  }
})();

/** Status and errors go to stderr, so stdout carries the echoes only. */
function exit(code: number, line: string, toStderr = true): never {
  if (toStderr) console.error(paintLine(err, line));
  else console.log(line);
  process.exit(code);
}
const trace = tracing ? traceTo(console.error) : () => {};

// ---- the connection -----------------------------------------------------------------------------
const address = formatAddress(host, port);
if (tls?.insecure) console.error(err.warning(t.insecureWarning));
const ca =
  tls?.ca === undefined
    ? undefined
    : await readCa(t, tls.ca).catch((line: string) => exit(1, line));
const secured = Promise.withResolvers<void>();
const echo = new EchoWaiter();
const outbox = new Outbox(); // a long line may not fit in the kernel's buffer at once
let leaving = false;

trace(0, "connect", address);
const socket: Socket = await Bun.connect({
  hostname: host,
  port,
  // Verified against the system's store, or --tls-ca; servername makes the name count.
  tls: tls && { ca, rejectUnauthorized: !tls.insecure, serverName: host },
  socket: {
    open() {
      trace(0, "open");
    },
    handshake(_socket, ok, error) {
      trace(0, "handshake", ok ? "ok" : `failed: ${error?.message ?? "?"}`);
      if (!ok && !tls?.insecure) exit(1, t.tlsRejected(address, error?.message ?? "?"));
      secured.resolve();
    },
    binaryType: "uint8array",
    data(_socket, chunk: Uint8Array) {
      trace(0, "data", chunk.length);
      const stray = echo.push(chunk);
      if (stray > 0) console.error(err.warning(t.unexpectedBytes(stray)));
    },
    drain(socket) {
      trace(0, "drain", outbox.bytes);
      outbox.flush(sink(socket));
      if (outbox.broken) exit(1, t.serverClosed); // Bun may not call close() after a -1
    },
    end() {
      trace(0, "end");
    },
    close(_socket, error) {
      trace(0, "close", error?.message ?? "");
      // Said at once, even while the user is still typing.
      if (!leaving) exit(1, errorCode(error) === "ECONNRESET" ? t.serverReset : t.serverClosed);
    },
    error() {}, // close() follows with the error and says it
    connectError() {}, // Bun.connect rejects too; said below
  },
}).catch((error: unknown) => exit(1, connectErrorMessage(t, error, host, port)));

// ---- the conversation: one line out, its whole echo back ----------------------------------------
const interactive = process.stdin.isTTY === true;
const encoder = new TextEncoder();
const decoder = new TextDecoder(); // invalid UTF-8 shows as U+FFFD; the bytes were compared first
const prompt = () => interactive && process.stderr.write(err.prompt(t.prompt));
// With --trace every write is reported (bytes taken of bytes offered); without, the socket itself.
const sink = (socket: Socket) => (tracing ? tracedSink(socket, 0, trace) : socket);

if (tls) await secured.promise; // say "connected" only once the server has been verified
console.error(err.status(tls ? t.connectedTls(address) : t.connected(address)));
prompt();
let stopWord = false;
for await (const line of lines(console)) {
  if ((stopWord = isStopWord(line))) break;
  const sent = encoder.encode(withoutCR(line) + "\n");
  const echoed = echo.expect(sent.length, timeout * 1000);
  trace(0, "send", `${sent.length} bytes`);
  if (!outbox.send(sink(socket), sent) && outbox.broken) exit(1, t.serverClosed);
  const got = await echoed.catch((error: unknown) => {
    if (error instanceof EchoTimeout) exit(1, t.echoTimeout(timeout));
    throw error;
  });
  trace(0, "echo", `${got.length} bytes complete`);
  const text = decoder.decode(got);
  console.log(out.echo(text.endsWith("\n") ? text.slice(0, -1) : text));
  if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(sent)) {
    console.error(err.warning(t.echoDiffers(sent.length)));
  }
  prompt();
}

// `fim` or end of input: close our side and leave.
leaving = true;
socket.end();
// After Ctrl-D the cursor still sits after the prompt; after fim the terminal echoed a newline.
if (interactive) console.error((stopWord ? "" : "\n") + err.status(t.bye));
process.exit(0);
