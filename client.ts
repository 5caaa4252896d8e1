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
import type { Socket, SocketHandler } from "bun";
import { startProgram } from "./src/cli/command-line.ts";
import { clientOptions, clientSettings } from "./src/cli/options.ts";
import { Outbox } from "./src/common/outbox.ts";
import { escaped, formatAddress, preview, printablePath } from "./src/common/text.ts";
import { connectErrorMessage, errorCode, tlsFileMessage } from "./src/common/errors.ts";
import { EchoTimeout, EchoWaiter } from "./src/client/echo-waiter.ts";
import {
  atTerminalLimit,
  isStopWord,
  lines,
  TERMINAL_LINE_MAX,
  withoutCR,
} from "./src/client/lines.ts";
import { notTls, readCa, TlsFileError } from "./src/common/tls.ts";
import { stylesFor } from "./src/common/colors.ts";
import { printExit } from "./src/common/say.ts";
import { traceTo, tracedSink } from "./src/common/trace.ts";
import { dumpedSink, hexdump } from "./src/common/hexdump.ts";
import type { ByteSink } from "./src/common/outbox.ts";
import { writeOut } from "./src/client/stdout.ts";
import { DatagramConversation, NoEcho, Unreachable } from "./src/client/udp.ts";
import { MAX_DATAGRAM_IPV4, MAX_DATAGRAM_IPV6 } from "./src/common/net.ts";

const STILL_WAITING_MS = 3000; // then say, once, that the client is waiting on purpose

const started = startProgram("client", clientOptions, clientSettings, (t) => ({
  intro: t.clientIntro,
  outro: t.clientOutro,
}));
if (started.exit) process.exit(printExit(started.exit));
const { t, settings } = started;
const { host, port, timeout, tls } = settings;
const out = stylesFor(process.stdout.isTTY, process.env);
const err = stylesFor(process.stderr.isTTY, process.env);
const trace = settings.trace ? traceTo(console.error) : () => {};
const interactive = process.stdin.isTTY === true;

// Status and errors go to stderr, so stdout carries the echoes only. A line that arrives while
// the prompt is showing starts on a line of its own.
let promptShown = false;
function note(line: string): void {
  console.error((promptShown ? "\n" : "") + line);
  promptShown = false;
}
function fail(line: string): never {
  note(err.error(line));
  process.exit(1);
}

// ---- the connection -----------------------------------------------------------------------------
const unixPath = settings.unix === undefined ? undefined : printablePath(settings.unix);
const address = unixPath ?? formatAddress(host, port);
if (tls?.insecure) console.error(err.warning(t.insecureWarning));
const ca =
  tls?.ca === undefined
    ? undefined
    : await readCa(tls.ca).catch((error: unknown) => {
        if (error instanceof TlsFileError) fail(tlsFileMessage(t, error));
        throw error;
      });
const secured = Promise.withResolvers<void>();
const echo = new EchoWaiter();
const outbox = new Outbox(); // a long line may not fit in the kernel's buffer at once
let leaving = false;
let stray = 0; // bytes the server sent that echo nothing we sent
let strayWarned = 0; // of them, how many the one warning told
let connectedAt = 0;
const AT_ONCE_MS = 1000;
// A close after this long without traffic, while no echo is awaited, may be the server's idle
// timeout: the client cannot know, so it says "perhaps".
const IDLE_HINT_MS = 1000;
let lastTraffic = 0;
let heard = false; // a byte has come: a server that never accepted this connection sends none
let sentAny = false;
let handshaken = !tls;
let awaitingEcho = false;
let awaitedBytes = 0;
let sentAt = 0;
const dumped = { in: 0, out: 0 }; // --hexdump: where each direction's next piece starts
// Ctrl-C while an echo is awaited (a sequential server serving another client, say) is said;
// at the prompt it leaves as a shell's command does.
process.on("SIGINT", () => {
  // The terminal has just shown "^C" where the cursor was: the line starts below it.
  if (awaitingEcho && interactive && process.stderr.isTTY) console.error();
  if (awaitingEcho) note(err.status(t.stoppedWaiting((performance.now() - sentAt) / 1000)));
  else if (promptShown) console.error();
  process.exit(130);
});

const stream: SocketHandler<undefined> = {
  open() {
    connectedAt = lastTraffic = performance.now();
    trace(0, "open");
  },
  handshake(_socket, ok, error) {
    trace(0, "handshake", ok ? "ok" : t.traceHandshakeFailed(error?.message ?? "?"));
    // --insecure waives the certificate check, not TLS itself: a server that does not
    // speak it fails either way.
    if (!ok && (!tls?.insecure || notTls(error))) fail(tlsProblem(error));
    secured.resolve();
  },
  binaryType: "uint8array",
  data(_socket, chunk: Uint8Array) {
    trace(0, "data", chunk.length);
    lastTraffic = performance.now();
    heard = true;
    if (settings.hexdump) dump("in", chunk);
    const extra = echo.push(chunk);
    // Said once; a server that streams on would otherwise flood the terminal.
    // After the echo they came with is printed (a server that adds a prefix, say).
    if (extra > 0 && stray === 0) {
      strayWarned = extra;
      setImmediate(() => note(err.warning(t.unexpectedBytes(extra))));
    }
    stray += extra;
  },
  drain(socket) {
    trace(0, "drain", outbox.bytes);
    outbox.flush(sink(socket));
    if (outbox.broken) fail(closedMessage()); // Bun may not call close() after a -1
  },
  end() {
    trace(0, "end");
  },
  close(_socket, error) {
    trace(0, "close", error?.message ?? "");
    // Said at once, even while the user is still typing.
    if (!leaving) fail(whyClosed(error));
  },
  error() {}, // close() follows with the error and says it
  connectError() {}, // Bun.connect rejects too; said below
};

trace(0, "connect", address);
// --udp: datagrams, no connection (src/client/udp.ts); else a stream, over TCP or --unix.
const link = settings.udp ? await connectDatagrams() : await connectStream();

// ---- the conversation: one line out, its whole echo back ----------------------------------------
const encoder = new TextEncoder();
// Invalid UTF-8 shows as U+FFFD (the bytes were compared first); a U+FEFF echoed is printed, not
// taken for a byte order mark and dropped.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

// Say "connected" only once the server has been verified.
if (tls) {
  const pending = () => t.stillWaiting(STILL_WAITING_MS / 1000);
  await waitFor(secured.promise, timeout, pending, t.handshakeTimeout(timeout));
}
handshaken = true;
const hello = settings.udp ? t.connectedUdp : tls ? t.connectedTls : t.connected;
console.error(err.status(hello(address)));
prompt();
let stopWord = false;
let differed = 0; // echoes that were not what was sent: a script must be able to tell
try {
  for await (const line of lines(console)) {
    promptShown = false;
    if ((stopWord = isStopWord(line.text))) break;
    const sent = encoder.encode(withoutCR(line.text) + "\n");
    // Never a silent cut: sent as it came, and said.
    if (interactive && TERMINAL_LINE_MAX !== undefined && atTerminalLimit(line.text))
      console.error(err.warning(t.terminalLineCut(TERMINAL_LINE_MAX)));
    // Ctrl-D in the middle of a line sends it without a newline: the echo starts on a new one.
    if (interactive && !line.ended) console.error();
    sentAny = true;
    awaitingEcho = true;
    awaitedBytes = sent.length;
    sentAt = performance.now();
    const got = await link.exchange(sent);
    awaitingEcho = false;
    lastTraffic = performance.now();
    trace(0, "echo", t.traceEchoComplete(got.length));
    if (!showEcho(sent, got)) differed++;
    prompt();
  }
} catch (error) {
  // Standard input that is not readable text (a directory, say).
  fail(t.inputFailed(errorCode(error) ?? String(error)));
}

// `fim` or end of input: close our side and leave.
leaving = true;
link.close();
// The total, only when more came after the warning: else it would say the same thing twice.
if (stray > strayWarned) console.error(err.warning(t.strayFlood(stray)));
// After Ctrl-D the cursor still sits after the prompt; after fim the terminal echoed a newline.
if (interactive) console.error((stopWord ? "" : "\n") + err.status(t.bye));
// Bytes that echo no message (a banner, a prefix) are as wrong as a changed echo.
process.exit(differed > 0 || stray > 0 ? 1 : 0);

// ---- the details: connecting, why a close ends the client, one exchange, the echo shown ---------

/** A connected stream or datagram socket: one message out, its whole echo back. */
interface Link {
  exchange(sent: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** Over TCP or --unix; verified against the system's store or --tls-ca, with --tls. */
async function connectStream(): Promise<Link> {
  // serverName makes the name in the certificate count.
  const verify = tls && { ca, rejectUnauthorized: !tls.insecure, serverName: host };
  let socket: Socket;
  try {
    socket = await (settings.unix !== undefined
      ? Bun.connect({ unix: settings.unix, tls: verify, socket: stream })
      : Bun.connect({ hostname: host, port, tls: verify, socket: stream }));
  } catch (error) {
    fail(connectErrorMessage(t, error, host, port, unixPath)); // thrown, or rejected
  }
  return { exchange: (sent) => exchange(socket, sent), close: () => socket.end() };
}

/** --udp: a connected datagram socket (src/client/udp.ts). */
async function connectDatagrams(): Promise<Link> {
  const datagrams = new DatagramConversation(settings.retries, trace);
  await datagrams
    .connect(host, port)
    .catch((error: unknown) => fail(connectErrorMessage(t, error, host, port)));
  return { exchange: (sent) => exchangeDatagram(datagrams, sent), close: () => datagrams.close() };
}

/** Why the server's close ends the client, said the way the user can act on it. */
function whyClosed(error: Error | undefined): string {
  if (tls && !handshaken) return tlsProblem(error);
  if (errorCode(error) === "ECONNRESET") return closedMessage(true);
  // Closed right after connecting, before any message: a server in mode once, busy.
  if (!sentAny && performance.now() - connectedAt < AT_ONCE_MS) return t.serverClosedAtOnce;
  const silentMs = performance.now() - lastTraffic;
  if (!awaitingEcho && silentMs >= IDLE_HINT_MS) return t.serverClosedIdle(silentMs / 1000);
  return closedMessage();
}

/** The server closed: with an echo still owed, how much of it never came (a server cut short). */
function closedMessage(reset = false): string {
  const owed = awaitingEcho ? awaitedBytes - echo.received : 0;
  if (reset && owed > 0 && !heard) return t.serverResetUnheard(owed);
  if (reset) return owed > 0 ? t.serverResetOwed(owed) : t.serverReset;
  return owed > 0 ? t.serverClosedOwed(owed) : t.serverClosed;
}

/**
 * Why a TLS connection failed. A plain server answers TLS with bytes that are not TLS (an echo
 * server, with our own hello).
 */
function tlsProblem(error: Error | null | undefined): string {
  return notTls(error) ? t.notTls(address) : t.tlsRejected(address, error?.message ?? "?");
}

function prompt(): void {
  if (!interactive) return;
  process.stderr.write(err.prompt(t.prompt));
  promptShown = true;
}
/** Over a stream: writes the message and waits for as many bytes as it has, however cut. */
async function exchange(socket: Socket, sent: Uint8Array): Promise<Uint8Array> {
  const echoed = echo.expect(sent.length, timeout * 1000);
  trace(0, "send", `${sent.length} bytes`);
  if (!outbox.send(sink(socket), sent) && outbox.broken) fail(closedMessage());
  // After a pause: nothing yet, or part of the echo (a server that dropped the newline, say).
  const pending = () =>
    echo.received === 0
      ? t.stillWaiting(STILL_WAITING_MS / 1000)
      : t.partialEcho(echo.received, sent.length, preview(echo.sofar()));
  return waitFor(echoed, 0, pending, t.echoTimeout(timeout));
}

/** Over UDP: one datagram, sent again while its echo is late. */
async function exchangeDatagram(d: DatagramConversation, sent: Uint8Array): Promise<Uint8Array> {
  const max = host.includes(":") ? MAX_DATAGRAM_IPV6 : MAX_DATAGRAM_IPV4;
  if (sent.length > max) fail(t.lineTooLong(sent.length, max));
  return d.exchange(sent).catch((error: unknown) => {
    if (error instanceof Unreachable) fail(t.udpUnreachable(address));
    if (error instanceof NoEcho) fail(t.udpNoEcho(error.tries, address));
    throw error;
  });
}

/**
 * Waits for the echo (or the TLS handshake), giving up after `limitS` seconds (0: as long as it
 * takes), and says once, after a few seconds, what it is waiting for (`pending`).
 */
async function waitFor<T>(
  promise: Promise<T>,
  limitS: number,
  pending: () => string,
  timedOut: string,
): Promise<T> {
  const still = setTimeout(() => note(err.status(pending())), STILL_WAITING_MS);
  const limit = limitS > 0 ? setTimeout(() => fail(timedOut), limitS * 1000) : undefined;
  try {
    return await promise;
  } catch (error) {
    if (error instanceof EchoTimeout) fail(timedOut);
    throw error;
  } finally {
    clearTimeout(still);
    clearTimeout(limit);
  }
}

/** The echo on stdout: true if it is what was sent. */
function showEcho(sent: Uint8Array, got: Uint8Array): boolean {
  if (Buffer.from(got.buffer, got.byteOffset, got.length).equals(sent)) {
    const text = decoder.decode(got);
    show(out.echo(text.endsWith("\n") ? text.slice(0, -1) : text));
    return true;
  }
  // Not what was sent: shown escaped, so a server cannot drive the terminal.
  const last = got.at(-1) === 0x0a ? got.subarray(0, -1) : got;
  show(escaped(last));
  console.error(err.warning(t.echoDiffers(sent.length)));
  return false;
}

/** An echo on stdout; output that cannot be written is lost echo: say so and exit 1. */
function show(line: string): void {
  const problem = writeOut(line + "\n");
  if (problem === "EPIPE") process.exit(1); // the reader left, as `| head` does: quietly
  if (problem !== undefined) fail(t.outputFailed(problem));
}

/** With --trace every write is reported (bytes taken of bytes offered); without, the socket itself. */
function sink(socket: Socket): ByteSink {
  const traced = settings.trace ? tracedSink(socket, 0, trace) : socket;
  return settings.hexdump ? dumpedSink(traced, (bytes) => dump("out", bytes)) : traced;
}

/** --hexdump: a piece received, or taken by the kernel, on stderr (stdout is for echoes). */
function dump(way: "in" | "out", bytes: Uint8Array): void {
  const head = (way === "in" ? t.hexReceived : t.hexSent)(bytes.length);
  note(err.status(hexdump(head, bytes, dumped[way], t.hexNotShown).join("\n")));
  dumped[way] += bytes.length;
}
