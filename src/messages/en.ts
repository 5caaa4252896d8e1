/** English catalog. Every key here must exist in pt.ts too (the type and a test enforce it). */

const number = new Intl.NumberFormat("en-US");
const seconds = new Intl.NumberFormat("en-US", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const plural = (n: number, one: string, many: string) =>
  `${number.format(n)} ${n === 1 ? one : many}`;
const size = (n: number) => (n >= 1 << 30 ? `${n / (1 << 30)}g` : `${n / (1 << 20)}m`);

export const en = {
  // shared
  usageError: (problem: string, command: string) => `error: ${problem} (see: ${command} --help)`,
  usage: (command: string) => `Usage: ${command} [options]`,
  unknownOption: (option: string) => `unknown option ${option}`,
  unknownOptionNear: (option: string, near: string) =>
    `unknown option ${option} (did you mean ${near}?)`,
  otherProgramOption: (option: string, programs: string[]) =>
    `${option} is an option of ${programs.join(" and of ")}, not of this program`,
  portWithoutFlag: (arg: string) =>
    `unexpected argument "${arg}" (to choose the port: --port ${arg})`,
  modeWithoutFlag: (arg: string, flag: string) =>
    `unexpected argument "${arg}" (to choose the mode: ${flag} ${arg})`,
  commandUnquoted: (arg: string, quoted: string) =>
    `unexpected argument "${arg}" (quote the whole command: ${quoted})`,
  missingValue: (option: string) => `option ${option} needs a value`,
  flagTakesNoValue: (option: string) => `option ${option} takes no value`,
  unexpectedArgument: (arg: string) => `unexpected argument "${arg}"`,
  /** Why a value was refused: each parser of src/cli/values.ts throws one of these codes. */
  badValue: {
    port: (source: string, value: string) =>
      `${source} must be a whole number from 0 to 65535, not "${value}"`,
    clientPort: (source: string, value: string) =>
      `${source} must be a whole number from 1 to 65535, not "${value}"`,
    mode: (source: string, value: string) =>
      `${source} must be once, sequential or concurrent, not "${value}"`,
    seconds: (source: string, value: string) =>
      `${source} must be a positive number of seconds, not "${value}"`,
    secondsOrZero: (source: string, value: string) =>
      `${source} must be a number of seconds, 0 for never, not "${value}"`,
    secondsOrNoDelay: (source: string, value: string) =>
      `${source} must be a number of seconds, 0 for no delay, not "${value}"`,
    secondsOrNoLimit: (source: string, value: string) =>
      `${source} must be a number of seconds, 0 for no limit, not "${value}"`,
    pause: (source: string, value: string) =>
      `${source} must be a number of seconds such as 0.01 or 0.5, 0 for none, not "${value}"`,
    tooShort: (source: string, value: string, min: number) =>
      `${source} must be 0 (never) or at least ${min} seconds, not "${value}"`,
    tooLong: (source: string, value: string, max: number) =>
      `${source} must be at most ${number.format(max)} seconds (${max / 86_400} days), not "${value}"`,
    count: (source: string, value: string) =>
      `${source} must be a whole number of at least 1, not "${value}"`,
    bytes: (source: string, value: string, max: number) =>
      `${source} must be a size in bytes such as 65536, 64k or 1m (at most ${size(max)}), not "${value}"`,
    pieceBytes: (source: string, value: string, max: number) =>
      `${source} must be a number of bytes of at least 1, such as 1, 10 or 1k (at most ${size(max)}), not "${value}"`,
    rate: (source: string, value: string, max: number) =>
      `${source} must be bytes a second such as 100, 10k or 1m (at most ${size(max)}), 0 for no limit, not "${value}"`,
    workers: (source: string, value: string, max: number) =>
      `${source} must be auto or a whole number from 1 to ${max}, not "${value}"`,
    lang: (source: string, value: string) => `${source} must be en or pt, not "${value}"`,
    emptyHost: (source: string) => `${source} needs a host name or address, not an empty one`,
    badIp: (source: string, value: string) => `${source}: "${value}" is not an IP address`,
    boolean: (source: string, value: string) => `${source} must be 1 or 0, not "${value}"`,
    path: (source: string, value: string, max: number) =>
      `${source} must be a file path of 1 to ${max} bytes, not "${value}"`,
    retries: (source: string, value: string, max: number) =>
      `${source} must be a whole number from 0 to ${max}, not "${value}"`,
    logFormat: (source: string, value: string) => `${source} must be text or json, not "${value}"`,
    logLevel: (source: string, value: string) =>
      `${source} must be data, connections, warn or error, not "${value}"`,
    cidr: (source: string, value: string) =>
      `${source} must be addresses or networks such as 10.0.0.0/8,::1, separated by commas, not "${value}"`,
  },
  tlsPairNeeded: "--tls-cert and --tls-key go together: give both or neither",
  notWith: (option: string, other: string) => `${option} does not go with ${other}`,
  onlyWith: (option: string, other: string) => `${option} only makes sense with ${other}`,
  httpPortIsPort: (port: number) =>
    `--http-port cannot be the echo port (--port ${port}): health and metrics need a port of their own`,
  udpMode: (mode: string) =>
    `--udp serves every sender at once (datagrams have no connection): --mode ${mode} does not apply`,
  optionsHeading: "Options (environment variable in brackets):",
  optionGroup: {
    shaping: "Shaping the echo, to test a client (TCP and --unix; each row off unless given):",
  },
  defaultWord: "default",
  metavar: {} as Record<string, string>, // placeholders are the same in English
  optionHelp: {
    serverHost: "address to listen on; 0.0.0.0 or :: also serves other machines",
    serverPort: "port to listen on; 0 picks a free one",
    mode: "once        serve one client, then exit\nsequential  one client at a time; the others wait\nconcurrent  every client at once",
    maxConnections: "close new connections beyond N open ones",
    idleTimeout: "close a connection with no traffic for this long; 0 = never",
    maxBuffer:
      "echo held for a client that reads slower than it sends before the server stops reading from it: 65536, 64k, 1m",
    workers:
      "N server processes sharing the port (SO_REUSEPORT), for every core; auto = one per core; needs --mode concurrent; limits apply per process",
    tlsCert: "serve TLS with this certificate (PEM)",
    tlsKey: "and this private key (PEM)",
    serverUdp:
      "serve UDP instead of TCP: each datagram goes back to its sender as it came (RFC 862); runs until stopped",
    serverUnix:
      "listen on this Unix-domain socket file instead of --host/--port; removed when the server exits",
    proxyProtocol:
      "every connection starts with a PROXY protocol header (v1 or v2) from a load balancer: read, never echoed; the client it names is shown",
    httpPort:
      "serve the live page (GET /), /healthz, /readyz and /metrics (Prometheus) on this port; 0 picks a free one",
    httpHost: "address for --http-port",
    proxyFrom:
      "with --proxy-protocol, take headers only from these sources (10.0.0.0/8,::1): connections from others are closed, nothing echoed",
    stopDelay:
      "after a stop signal, /readyz answers 503 and new connections are still accepted this long, so that a balancer hears it before the port closes",
    drainIdle:
      "after a stop, a connection ends when it finishes, when silent this long (0 = never), or at --drain-timeout; the exit status is 75 if the stop cut an echo short",
    drainTimeout:
      "after a stop signal, close connections still open after this long; 0 = wait for them",
    logFormat:
      "text, or json: every line once the options are read, on stdout and on stderr, one JSON object (codes, not words), for log collectors",
    logLevel:
      "data         every connection and every piece read\nconnections  each connection's open and close, no line per read\nwarn         warnings (refusals, limits) and errors\nerror        errors only\n(the listening lines are shown at every level)",
    slice: "send each echo in pieces of at most BYTES, one write each, as a slow network cuts it",
    sliceRandom: "each piece a random size from 1 to --slice (the same with the same --seed)",
    delay: "wait this long before each piece (fractions allowed: 0.01)",
    rate: "echo at most BYTES a second on each connection",
    closeAfter: "close the connection (FIN) once BYTES have been echoed",
    resetAfter: "reset the connection (RST) once BYTES have been echoed",
    seed: "where --slice-random starts: the same seed, the same pieces (the listening line shows it)",
    quiet: "the same as --log-level warn: the listening lines, warnings and errors",
    trace: "print every socket event on stderr, with a timestamp",
    hexdump:
      "show every piece received and sent as hex and text, like xxd (at most 256 bytes of each)",
    lang: "en or pt (default: from LC_ALL, LC_MESSAGES, LANG)",
    clientHost: "server to connect to",
    clientPort: "server's port",
    timeout:
      "give up when no byte of an awaited echo (or of the TLS handshake) arrives for this long; 0 = wait as long as it takes",
    tls: "connect with TLS, verifying the server's certificate against the system's trusted certificates",
    tlsCa: "verify the server against this CA certificate (PEM) instead (implies --tls)",
    insecure: "TLS without verifying the server (tests only)",
    clientUdp: "send each line as one UDP datagram; resend it when its echo is late",
    retries: "with --udp, how many times to send a message again before giving up",
    clientUnix: "connect to this Unix-domain socket file instead of --host/--port",
    help: "show this help",
    version: "show the version",
    // probe
    probeHost: "echo server to check",
    probeExpect:
      "the server's mode, whose rule is checked: once (a second client must never be served: refused, or reset once the first leaves; the kernel's queue may complete its handshake), sequential or concurrent",
    probeTimeout: "time limit of each wait for the server",
    probeSlowPause: "the slow reader's pause, in ms, after every 256 KiB it reads",
    probeJson: "print the results as JSON (for graders)",
    probeClient:
      "check an echo client instead: run CMD ({port} replaced by the port, ECHO_PORT set), against a server of the probe's own that echoes slowly, and type lines to it",
  },

  // server
  datagram: (from: string, size: number, preview: string) =>
    `${from} sent ${plural(size, "byte", "bytes")}: ${preview}`,
  datagramLoop: (from: string) =>
    `refused a datagram from ${from}: echoing it could loop forever (its port is this server's own or an echo-like service's, or it sends our echo straight back, again and again)`,
  datagramLoopMore: (n: number) =>
    `refused ${plural(n, "more datagram", "more datagrams")} in the last second that could loop forever`,
  udpSummary: (
    datagrams: number,
    bytes: number,
    dropped: number,
    unreachable: number,
    refused: number,
    secs: number,
  ) =>
    `stopped: ${plural(datagrams, "datagram", "datagrams")}, ${plural(bytes, "byte", "bytes")} echoed, ${number.format(dropped)} dropped (queue full), ${number.format(unreachable)} to senders gone (port unreachable)${refused > 0 ? `, ${number.format(refused)} refused (echo loop)` : ""}, up ${seconds.format(secs)} s`,
  unixInUse: (path: string) =>
    `error: a server already answers on ${path}; stop it first, or choose another --unix path`,
  unixNotSocket: (path: string) =>
    `error: ${path} exists and is not a socket: refusing to replace it (choose another --unix path)`,
  unixNoDirectory: (path: string) =>
    `error: cannot create the socket ${path}: its directory does not exist (or is not a directory)`,
  unixDenied: (path: string) =>
    `error: cannot create the socket ${path}: permission denied in its directory`,
  unixPeer: "a local process",
  live: {
    title: "echo server, live",
    connecting: "connecting…",
    live: "live: updates as they happen (at most ten a second)",
    lost: "the server is gone; trying again…",
    open: "open now",
    total: "connections",
    received: "bytes received",
    echoed: "bytes echoed",
    rate: "bytes received per second, last minute",
    peak: "peak {n} bytes/s",
    noEvents: "(none since this page opened)",
    connections: "open connections",
    peer: "from",
    state: "state",
    in: "bytes in",
    out: "bytes out",
    age: "age",
    events: "latest events (as --trace shows them)",
    more: "and {n} more",
    states: {
      echoing: "echoing",
      paused: "paused",
      "half-closed": "half-closed",
      waiting: "waiting its turn",
    },
  },
  hexIn: (id: number, size: number) => `#${id} < received ${plural(size, "byte", "bytes")}`,
  hexOut: (id: number, size: number) => `#${id} > sent ${plural(size, "byte", "bytes")}`,
  hexNotShown: (n: number) => `… and ${plural(n, "more byte", "more bytes")}, not shown`,
  viaProxy: (id: number, client: string, balancer: string, version: number) =>
    `#${id} connected from ${client} via ${balancer} (PROXY v${version})`,
  proxyLocal: (id: number, balancer: string, version: number) =>
    `#${id} connected from ${balancer}: the balancer's own check (PROXY v${version} LOCAL)`,
  proxyUnknown: (id: number, balancer: string, version: number) =>
    `#${id} connected via ${balancer}, client address not given (PROXY v${version} UNKNOWN)`,
  proxyRefused: (id: number, peer: string, problem: string) =>
    `#${id} from ${peer} closed: no valid PROXY header (${problem}); nothing echoed`,
  proxyRefusedMore: (n: number, problem: string) =>
    `closed ${plural(n, "more connection", "more connections")} in the last second: no valid PROXY header (${problem})`,
  untrustedRefused: (id: number, peer: string) =>
    `#${id} from ${peer} closed: not a source --proxy-from trusts; nothing echoed`,
  untrustedMore: (n: number) =>
    `closed ${plural(n, "more connection", "more connections")} in the last second from sources --proxy-from does not trust`,
  proxyProblem: {
    signature: "its first bytes are not a PROXY header",
    v1TooLong: "a v1 header longer than 107 bytes",
    v1Malformed: "a malformed v1 header",
    v2Version: "an unknown v2 version",
    v2Command: "an unknown v2 command",
    v2TooLong: "a v2 header longer than the limit",
    v2Malformed: "a malformed v2 header",
    v2Family: "an unknown v2 address family",
    timeout: "no header within 3 s",
    incomplete: "the connection ended before the header was complete",
  },
  tellingBalancer: (secs: number) =>
    `stopping: /readyz now answers 503; accepting new connections ${seconds.format(secs)} s longer (--stop-delay)`,
  drainTimedOut: (n: number, secs: number) =>
    `closing ${plural(n, "connection", "connections")} still open ${seconds.format(secs)} s after the stop (--drain-timeout)`,
  httpListening: (address: string, live: boolean) =>
    `health and metrics on http://${address}/ (/healthz, /readyz, /metrics${live ? "; the live page at /" : ""})`,
  unresolved: (host: string) => `cannot resolve host "${host}"`,
  httpFailed: (address: string, reason: string) =>
    `error: cannot serve health and metrics on ${address}: ${reason}`,
  httpFull: (max: number, n: number) =>
    `warning: the health and metrics port has ${plural(max, "connection", "connections")} open, its limit: answered 503 to ${plural(n, "new one", "new ones")} (health checks may fail while this lasts; the echo is not affected)`,
  httpEvicted: (max: number, n: number) =>
    `warning: the health and metrics port has ${plural(max, "connection", "connections")} open, its limit: closed the oldest ${n === 1 ? "one" : `${n}`} still sending a request or already answered, to let ${n === 1 ? "a new one" : "new ones"} in (slow or silent clients, perhaps an attack; the echo is not affected)`,
  httpPortInUse: (address: string) =>
    `error: cannot serve health and metrics on ${address}: the port is already in use; is another server running? Choose another with --http-port (or --http-port 0 for any free one)`,
  serverIntro: "Echo server, the passive side: sends back every byte it receives, unchanged.",
  serverOutro: `A first Ctrl-C, SIGTERM or SIGHUP stops accepting new connections and lets the
open ones finish their echo; a second one (half a second or more later: a
shell's own copy of one Ctrl-C is not a second) closes them at once. With
--workers, off a terminal (a service), SIGHUP reloads instead: each worker in
turn is replaced by a new one, which reads the TLS files again; the old one
drains.
Exit status: 0 finished, 1 could not listen, 2 usage error, 70 internal error,
75 stopped but an echo was cut short (--drain-idle, --drain-timeout),
130, 143 or 129 closed at once by a second Ctrl-C, SIGTERM or SIGHUP.`,
  listening: (address: string, details: string) => `listening on ${address} (${details})`,
  modeLabel: (mode: string) => `mode ${mode}`,
  shapedLabel: (flags: string) => `echo shaped: ${flags}`,

  opened: (id: number, peer: string) => `#${id} connected from ${peer}`,
  received: (id: number, size: number, preview: string) =>
    `#${id} received ${plural(size, "byte", "bytes")}: ${preview}`,
  closed: (id: number, echoed: number, secs: number, reason?: string, undelivered = 0) =>
    `#${id} closed: ${plural(echoed, "byte", "bytes")} echoed in ${seconds.format(secs)} s` +
    (reason || undelivered
      ? ` (${[reason, undelivered && `${plural(undelivered, "byte", "bytes")} of echo not delivered`].filter(Boolean).join("; ")})`
      : ""),
  clientNotTls: "TLS handshake failed: the client does not speak TLS",
  unknownPeer: "an unknown address (the peer left at once)",
  tlsHandshakeFailed: (reason: string) => `TLS handshake failed: ${reason}`,
  filesLimitLower: (limit: number, max: number) =>
    `warning: this process may open only ${number.format(limit)} files (ulimit -n): serving at most ${number.format(max)} connections at once (--max-connections); raise the limit to serve more`,
  connectionError: (id: number, reason: string) => `#${id} error: ${reason}`,
  onceStopsListening: "mode once: no longer accepting connections",
  onceByDefault:
    "warning: mode once (the default) ends the server after its first client; a service wants --mode concurrent",
  onceRefused: (id: number) => `#${id} refused: mode once serves a single client`,
  waiting: (id: number, ahead: number) =>
    `#${id} waiting: ${plural(ahead, "client", "clients")} ahead`,
  serving: (id: number) => `#${id} now being served`,
  goneWhileWaiting: (id: number) => `#${id} had gone while waiting its turn: not served`,
  stopping: (open: number) =>
    `stopping: no new connections; waiting for ${plural(open, "open connection", "open connections")} to finish (press Ctrl-C again to close ${open === 1 ? "it" : "them"} now)`,
  stalled: (secs: number, signal?: string) =>
    `at the stop: no traffic for ${seconds.format(secs)} s after ${signal === "SIGINT" ? "Ctrl-C" : (signal ?? "it")}; tune with --drain-idle`,
  notServed: "never served: the server stopped before its turn",
  cutAtDrainTimeout: (secs: number) =>
    `--drain-timeout: still open ${seconds.format(secs)} s after the stop`,
  cutByForce: "closed at once by a second stop signal",
  drainCut: (n: number) =>
    `the stop cut ${plural(n, "connection", "connections")} short (exit status 75)`,
  forced: (open: number) => `closing ${plural(open, "connection", "connections")} now`,
  summary: (connections: number, echoed: number, secs: number) =>
    `stopped: ${plural(connections, "connection", "connections")}, ${plural(echoed, "byte", "bytes")} echoed, up ${seconds.format(secs)} s`,
  portInUse: (address: string, port: number) =>
    `error: ${address} is already in use; is another server running? Choose another port with --port (for example --port ${port + 1}, or --port 0 for any free one), and give the client the same --port`,
  permissionDenied: (address: string) =>
    `error: permission denied to listen on ${address}; ports below 1024 need privileges, use --port 1024 or above`,
  addressNotAvailable: (host: string) =>
    `error: cannot listen on ${host}: it is not an address of this machine (try 127.0.0.1, ::1 or 0.0.0.0)`,
  hostNotFound: (host: string) => `error: cannot resolve host "${host}"`,
  listenFailed: (address: string, reason: string) =>
    `error: cannot listen on ${address}: ${reason}`,
  resetByPeer: "connection reset by peer",
  limitReached: (max: number) =>
    `warning: ${plural(max, "connection", "connections")} open, the limit (--max-connections): closing new ones`,
  limitRefused: (n: number, max: number) =>
    `warning: closed ${plural(n, "more new connection", "more new connections")} in the last second (limit ${number.format(max)})`,
  idleClosed: (secs: number) => `idle timeout: no traffic for ${seconds.format(secs)} s`,
  tlsKeyMismatch: "the key does not belong to the certificate",
  closedAfter: (bytes: number) =>
    `--close-after: ${plural(bytes, "byte", "bytes")} echoed, closed (FIN)`,
  resetAfter: (bytes: number) =>
    `--reset-after: ${plural(bytes, "byte", "bytes")} echoed, reset (RST)`,
  connectionLost: "connection lost: the peer is gone (reset or closed)",
  brokenPipe: "the peer stopped reading (broken pipe)",
  tlsFileKind: { certificate: "certificate", key: "key", ca: "CA certificate" },
  tlsFile: {
    unreadable: (what: string, path: string, reason: string) =>
      `error: cannot read the TLS ${what} file "${path}" (${reason})`,
    notRegular: (what: string, path: string, _reason: string) =>
      `error: the TLS ${what} file "${path}" is not a regular file`,
    tooLarge: (what: string, path: string, _reason: string) =>
      `error: the TLS ${what} file "${path}" is over 1 MiB: not a PEM file`,
    notPem: (what: string, path: string, _reason: string) =>
      `error: the TLS ${what} file "${path}" is not in PEM format (-----BEGIN ...)`,
    wrongKind: (what: string, path: string, _reason: string) =>
      `error: the TLS ${what} file "${path}" holds no ${what} (are the certificate and the key swapped?)`,
  },
  tlsInvalid: (reason: string) => `error: the TLS certificate or key was not accepted: ${reason}`,
  workers: (n: number) => plural(n, "worker", "workers"),
  workersNeedConcurrent: (mode: string) =>
    `--workers above 1 needs --mode concurrent: in mode ${mode} one process must see every client`,
  noReusePort:
    "warning: SO_REUSEPORT is not available here, so one process serves the port: running 1 worker",
  workerDied: (k: number, pid: number, how: string) =>
    `warning: worker ${k} (pid ${pid}) ended unexpectedly (${how}); starting it again`,
  workerRestarted: (k: number, pid: number) => `worker ${k} is serving again (pid ${pid})`,
  workerHung: (k: number, pid: number, secs: number) =>
    `warning: worker ${k} (pid ${pid}) has answered nothing for ${seconds.format(secs)} s; ending it`,
  workerFailing: (k: number) =>
    `error: worker ${k} keeps ending right after it starts; stopping the server`,
  reloading: (n: number) =>
    `reloading (SIGHUP): replacing the ${plural(n, "worker", "workers")} one by one; each new one reads its files (--tls-cert, --tls-key) and environment again`,
  reloaded: (n: number) =>
    `reloaded: ${plural(n, "new worker serves", "new workers serve")} (each old one exits once its connections have ended)`,
  reloadQueued:
    "a reload is already under way (or the workers are still starting): one more will follow it",
  reloadFailed: (k: number, replaced: number) =>
    `error: reload stopped: the new worker ${k} ended before it listened (see above); the old one keeps serving${replaced > 0 ? `, as do the ${plural(replaced, "worker", "workers")} already replaced` : ""}`,
  portShared: (address: string) =>
    `error: another program also listens on ${address} (it joined the port while the workers bound it); stopping, and leaving the port to it`,
  exitedWith: (code: number | null, signal: string | null) =>
    signal ? `signal ${signal}` : `exit code ${code}`,
  internalError: (reason: string) =>
    `error: internal error: ${reason}; the server stops (exit status 70)`,

  // client
  clientIntro: `Echo client, the active side: sends each line you type and prints the echo.
Type fim (in any case) or press Ctrl-D to close the connection and leave;
fim is not sent.`,
  clientOutro: `Echoes go to stdout, one per line; the prompt and status lines go to stderr.
Exit status: 0 left with fim or end of input, every echo exact; 1 connection
error, lost echo, an echo that differed or bytes that echo no message; 2 usage
error; 130 Ctrl-C.`,
  connected: (address: string) =>
    `connected to ${address}; type a message, or fim (or Ctrl-D) to leave`,
  connectedTls: (address: string) =>
    `connected to ${address} with TLS; type a message, or fim (or Ctrl-D) to leave`,
  insecureWarning:
    "warning: --insecure: the server's certificate is NOT verified; anyone on the way can read and change this conversation",
  tlsRejected: (address: string, reason: string) =>
    `error: the TLS certificate of ${address} was not accepted: ${reason} (see --tls-ca, or --insecure for tests)`,
  prompt: "> ",
  bye: "connection closed",
  echoDiffers: (sent: number) =>
    `warning: the echo differs from the ${plural(sent, "byte", "bytes")} sent`,
  unexpectedBytes: (n: number) =>
    `warning: the server sent ${plural(n, "byte", "bytes")} that echo no message`,
  refused: (address: string) =>
    `error: connection refused by ${address}: no server is listening there. Start one (bun run server), or check --host and --port; a server in mode once stops listening as soon as its one client connects`,
  unknownHost: (host: string) =>
    `error: unknown host "${host}": check the name, or give an IP address (--host 127.0.0.1 for this machine)`,
  connectFailed: (address: string, reason: string) =>
    `error: cannot connect to ${address}: ${reason}`,
  echoTimeout: (secs: number) =>
    `error: no echo from the server for ${seconds.format(secs)} s; giving up (see --timeout)`,
  serverClosed: "error: the server closed the connection",
  serverClosedOwed: (owed: number) =>
    `error: the server closed the connection; ${plural(owed, "byte", "bytes")} of the echo never came`,
  serverClosedIdle: (secs: number) =>
    `error: the server closed the connection after ${seconds.format(secs)} s without traffic (it may have stopped, or have an idle timeout); start the client again`,
  serverClosedAtOnce:
    "error: the server closed the connection at once (a server in mode once serves a single client; one at its --max-connections takes no more)",
  notTls: (address: string) =>
    `error: ${address} does not speak TLS (is it a plain TCP echo server? leave out --tls)`,
  handshakeTimeout: (secs: number) =>
    `error: no TLS handshake from the server for ${seconds.format(secs)} s; giving up (see --timeout)`,
  stoppedWaiting: (secs: number) =>
    `stopped waiting (Ctrl-C): no echo had come in ${seconds.format(secs)} s (a server that serves one client at a time, as in modes once and sequential, may be busy with another)`,
  stillWaiting: (secs: number) =>
    `no echo yet after ${seconds.format(secs)} s; still waiting (most likely the server serves one client at a time, as in modes once and sequential, and is busy with another; Ctrl-C leaves; a TLS server needs --tls)`,
  partialEcho: (got: number, sent: number, preview: string) =>
    `only ${number.format(got)} of the ${plural(sent, "byte", "bytes")} sent have come back so far: ${preview}; still waiting for the rest (did the server drop or change some? Ctrl-C leaves)`,
  // --trace details (event names stay as in the code: send, data, echo...)
  traceEchoComplete: (n: number) => `${n} bytes complete`,
  traceHandshakeFailed: (why: string) => `failed: ${why}`,
  traceBufferFull: "refused (buffer full)",
  hexSent: (size: number) => `sent ${plural(size, "byte", "bytes")}:`,
  hexReceived: (size: number) => `received ${plural(size, "byte", "bytes")}:`,
  inputFailed: (reason: string) => `error: cannot read standard input (${reason})`,
  strayFlood: (n: number) =>
    `warning: in all, the server sent ${plural(n, "byte", "bytes")} that echo no message`,
  outputFailed: (reason: string) => `error: cannot write the echo to standard output (${reason})`,
  serverReset: "error: the server reset the connection",
  serverResetOwed: (owed: number) =>
    `error: the server reset the connection; ${plural(owed, "byte", "bytes")} of the echo never came`,
  serverResetUnheard: (owed: number) =>
    `error: the server reset the connection without ever sending a byte (${plural(owed, "byte", "bytes")} of echo owed): most likely it never accepted this connection (busy with another client) and ended, and the system reset those still waiting`,
  connectedUdp: (address: string) =>
    `sending UDP datagrams to ${address}; type a message, or fim (or Ctrl-D) to leave`,
  udpUnreachable: (address: string) =>
    `error: nobody listens on UDP ${address} (the machine answered "port unreachable")`,
  udpNoEcho: (tries: number, address: string) =>
    `error: no echo from ${address} after ${plural(tries, "try", "tries")}; UDP may lose datagrams, or no server is there (see --retries)`,
  terminalLineCut: (max: number) =>
    `warning: this line has ${number.format(max)} bytes, the most the terminal keeps of one line: what you typed or pasted past that was cut before the client saw it. To send longer lines, pipe them: cat file.txt | bun run client`,
  lineTooLong: (size: number, max: number) =>
    `error: this line is ${number.format(size)} bytes with its newline; one UDP datagram carries at most ${number.format(max)}`,
  unixRefused: (path: string) =>
    `error: nothing answers at ${path}: not a socket, or one a server left behind (start the server: bun run server --unix ${path})`,
  unixMissing: (path: string) =>
    `error: no socket at ${path}; start the server first (bun run server --unix ${path})`,

  // bun run build
  buildSums: (n: number) => plural(n, "file", "files"),
  buildDone: (files: number, mib: number, dir: string) =>
    `${plural(files, "file", "files")} written to ${dir} (${seconds.format(mib)} MiB in all)`,

  // probe
  probeIntro: `Checks any echo server: sends what a grader would (a short line, a message in
pieces, all 256 byte values, 10 MB fast and slowly, a half-close...) and prints
one line per check, with what was sent, what came back and, for a failure, the
likely cause and what to do.`,
  probeOutro: `Exit status: 0 every check passed, 1 a check failed (or no server answered),
2 usage error.`,
  probeStart: (address: string, mode: string, secs: number) =>
    `probing ${address}, expecting mode ${mode} (time limit ${seconds.format(secs)} s per wait)`,
  probeClientStart: (command: string, address: string) =>
    `probing the client ${command} with an echo server of its own on ${address}: short lines come back a byte at a time, 10 ms apart`,
  probeClient: {
    check: {
      echoes: "every echo printed once, whole",
      typed: "sends only what was typed",
      slowServer: "keeps up with a slow server",
      fim: "fim ends the client",
      closes: "closes the connection",
      exit: "exit status 0",
    },
    typedLines: (n: number) => `${plural(n, "line", "lines")} on its stdin`,
    nothing: "nothing",
    allWhole: "each one whole, once, in order",
    everyEchoBack: "though every echo came back",
    sentOther: "and what it sent was not just the lines typed (see the next check)",
    echoUnread: (n: number) =>
      `and it did not read every echo: ${plural(n, "byte", "bytes")} of it had not gone back when the connection ended`,
    exactly: "exactly that",
    slowEcho: "each echo a byte at a time, 10 ms apart",
    allSent: (n: number) => `all ${n} lines sent`,
    sentOf: (n: number, total: number) => `${n} of ${total} lines sent`,
    notTyped: "not typed",
    notAllSent: "the lines before it were not all sent",
    exitedBeforeFim: "it had exited before fim was typed",
    fimNeverTyped: "fim was never typed",
    noFim: (n: number, total: number) => `${n} of ${total} lines typed; fim not typed`,
    crashedEarly: (code: string) =>
      `the client had crashed (exit status ${code}) before fim was typed`,
    waitedForEnd: "it was waiting for the connection to end: see above",
    endedOnOurReset: (code: string, max: number) =>
      `the client ended (exit status ${code}) after the probe's server had reset its connections beyond the first ${max}: not judged`,
    outputCut: (printed: number, line: string) =>
      `it printed ${plural(printed, "byte", "bytes")} on stdout, and the probe keeps only the first MiB: the echo of ${line} is not in it, so this cannot be judged`,
    seeFailuresAbove: "see the failures above",
    endedUnconnectedEarlier: "the client ended before connecting: see above",
    fileNotFound: (folder: string) =>
      `the probe runs your command in ${folder}, so a relative path is looked up there: give your program's full path (python3 ~/lab1/client.py {port})`,
    beforeFirstLine: "before the first line was typed",
    afterLine: (line: string) => `after ${line} was typed`,
    whileEcho: (line: string) => `while the echo of ${line} was coming back, before printing it`,
    exitedOnFim: "it exited",
    exitedOnEof: "it went on; it exited only when its input ran out (EOF, as with a Ctrl-D)",
    stillRunning: "still running: stopped by the probe",
    afterFim: "fim",
    finSeen: "a FIN",
    finOnEach: (n: number) => `a FIN on each of its ${n} connections`,
    connectionOf: (i: number, n: number) => ` on its connection ${i} of ${n}`,
    resetSeen: "a reset (RST)",
    noFin: "no FIN",
    status: (code: string) => `exit status ${code}`,
    killed: "stopped by the probe",
    leftRunning: (n: number) => `${plural(n, "process", "processes")} it started still running`,
    cause: {
      nothingPrinted: (how: string) => `your client printed nothing on stdout, ${how}`,
      waitsForEnd: (line: string) =>
        `your client printed the echo of ${line} only when the probe's server closed the connection: it reads until recv() returns 0 bytes, which happens only at the end of the connection, so no echo is printed while the conversation goes on`,
      firstRecv: (line: string, pieces: number) =>
        `your client printed after its first recv(); keep reading until every byte you sent has come back (the echo of ${line} came in ${pieces} pieces, 10 ms apart, and was not printed whole)`,
      bigCut: () =>
        "the 10 KB line was not printed whole: your client reads a fixed number of bytes (one recv(1024), say), not everything it sent",
      twice: (line: string) => `the echo of ${line} was printed more than once`,
      printedTyped: (line: string) =>
        `your client printed ${line} before its echo had come back: it printed what was typed, not what the server sent`,
      reconnects: (n: number, served: number) =>
        `it opened ${n} connections: the lab's server in mode once serves only the first (${served < n ? `the probe's server served the first ${served}; the rest were reset` : "the probe's server served them all, to judge the rest"})`,
      extra: (came: string, typed: string) =>
        `it sent ${came} where ${typed} was typed: a prompt or an extra newline (or \\r\\n) sent to the server comes back in the echo`,
      latin1: (line: string, bytes: string) =>
        `it sent ${line} in Latin-1 (cp1252, the Windows default), not in UTF-8: ${bytes}; an accented letter (ç, ã) is one byte in Latin-1 and two in UTF-8`,
      nfd: (line: string, letter: string, parts: string) =>
        `it sent ${line} decomposed (Unicode normalization NFD): the same on a screen, but not the same bytes; ${letter} went as ${parts}`,
      sentFim: () => "it sent fim to the server",
      emptyLine: () =>
        "after the empty line it sent nothing more: it sent 0 bytes, then waited for their echo, which never comes (the echo of nothing is nothing)",
      stuck: (line: string) =>
        `it did not send the next line (${line}) within the time limit, as if still waiting for the previous echo`,
      neverConnected: (address: string) =>
        `it never connected to the probe's server (${address}): nothing typed reached it`,
      endedUnconnected: (code: string, last: string) =>
        `your client ended (exit status ${code}) before ever connecting to the probe's server${last ? `; it said on stderr: ${last}` : ""}`,
      crashed: (code: string, when: string, last: string) =>
        `your client crashed (exit status ${code}) ${when}${last ? `; it said on stderr: ${last}` : ""}`,
      crashedDecoding: (code: string, when: string, last: string) =>
        `your client crashed (exit status ${code}) ${when}${last ? `; it said on stderr: ${last}` : ""}`,
      exitedEarly: (code: number, last: string) =>
        `it exited (status ${code}) before every line was typed${last ? `: ${last}` : ""}`,
      onlyEof: () =>
        "fim did not end it: it kept reading input, and left only when its input ran out (EOF)",
      neverExits: () => "after fim it closed the connection but did not exit; the probe stopped it",
      neverCloses: () =>
        "after fim it neither closed the connection nor exited; the probe stopped it",
      reset: () =>
        "the connection ended with a reset (RST), not a FIN: closed with echo still unread, or killed",
      noFin: () =>
        "it never closed the connection itself: it closed only when the probe stopped the client",
      killed: () => "it did not exit by itself: the probe stopped it, with all it had started",
      leftRunning: (n: number, pids: string, secs: number) =>
        `the probe could not end ${plural(n, "process", "processes")} your client started (PID ${pids}) in ${secs} s of freezing and killing (one that forks and exits over and over keeps changing its PID): ${n === 1 ? "it" : "they"} may still be running`,
      exitCode: (code: string, last: string) =>
        `it exited with status ${code}${last ? `: ${last}` : ""}`,
    },
    advice: {
      nothingPrinted:
        "print each echo on stdout (print, console.log, printf) once it has all come back",
      waitsForEnd:
        'after sending a line, call recv() until you have as many bytes as you sent, then print them and read the next line; recv() returns b"" (0 bytes) only once the server has closed',
      firstRecv:
        'call recv() in a loop until you have as many bytes as you sent (count bytes, not characters), then print the echo once; if recv() returns b"" (nothing), the server has closed: stop, do not loop forever',
      bigCut:
        "loop on recv() until the echo is as long as what you sent: one recv() returns at most its size, often less",
      twice: "print each echo once, after it has all come back (not each piece, then the whole)",
      printedTyped:
        "print the bytes recv() returned, once every byte you sent has come back: the echo is what the lab checks",
      reconnects:
        "connect once, before reading the first line, and send every line on that one connection",
      extra:
        "send exactly the line typed (with its newline, or without); show prompts on the screen without sending them",
      latin1:
        'encode with UTF-8, always: line.encode("utf-8") in Python (the default is cp1252 on Windows), getBytes(StandardCharsets.UTF_8) in Java; decode the echo with UTF-8 too',
      nfd: 'send the line as it was read, not normalized; to normalize, use NFC (unicodedata.normalize("NFC", line) in Python), which is how keyboards type',
      sentFim: "compare the line with fim before sending it, and leave without sending it",
      emptyLine:
        "skip empty lines (do not wait for the echo of nothing), or send each line with its newline",
      stuck:
        "once the whole echo is back, print it and read the next line; run it by hand to see where it waits",
      neverConnected:
        "connect to the port given: put {port} in the command (python3 client.py {port}) or read ECHO_PORT",
      endedUnconnected:
        "run your command by hand (a port of yours in place of {port}, a server listening there) and read its error",
      crashed:
        "that stderr line names the error, and the traceback above it shows where in your code: run your client by hand, type the same lines, and read the whole message",
      crashedDecoding:
        "decode the echo only once it has all come back: a recv() may stop in the middle of a character (ç and ã are 2 bytes in UTF-8), and half a character cannot be decoded; join the bytes first (got += piece), then got.decode()",
      exitedEarly: "read the error above; run your client by hand with the same lines",
      onlyEof:
        'on fim, close the socket and leave the loop: compare the line without its newline (line.strip() == "fim")',
      neverExits:
        "after closing, end the program: nothing should keep it running (a thread, a second loop, a sleep)",
      neverCloses: "on fim, close the socket (close()) and end the program",
      reset: "close only after reading every echo; do not set SO_LINGER to 0",
      noFin: "close the socket when the user types fim (close(), or shutdown() then close())",
      killed: "after fim, close the connection and return; see the failures above",
      leftRunning:
        "end what your client starts before it exits (join its threads, wait for its processes), and check with ps that nothing of it is left",
      exitCode: "end with status 0 after fim (an uncaught exception or exit(1) gives another)",
    },
  },
  probeCheck: {
    shortLine: "a short line",
    pieces: "one message in 3 pieces",
    together: "3 messages in one write",
    allBytes: "all 256 byte values",
    bulk: "10 MB while reading",
    slowRead: "10 MB read slowly",
    halfClose: "half-close after 1 MB",
    closesAfter: "closes after the client",
    once: "mode once: refuses the next",
    sequential: "mode sequential: one at a time",
    concurrent: "mode concurrent: two at once",
  },
  probeSkip: "SKIP",
  probeNoServer: (address: string) =>
    `error: nothing listens at ${address}: start your echo server first, or check --host and --port`,
  probeSpeaksTls: (address: string) =>
    `error: ${address} speaks TLS (it answers a TLS handshake, not plain text): add --tls, with --tls-ca FILE or --insecure for a self-signed certificate`,
  probeNotTls: (address: string) =>
    `error: ${address} does not speak TLS (it did not answer the handshake as TLS): leave out --tls`,
  probePass: "PASS",
  probeFail: "FAIL",
  probeWhy: "why:",
  probeWhat: "what to do:",
  probeLine: (sent: string, got: string) => `sent ${sent}; got ${got}`,
  probeLatency: (ms: number, n: number) =>
    `latency: ${ms.toFixed(2)} ms per round trip (median of ${n}), for information`,
  probeThroughput: (mbs: number) =>
    `throughput: ${number.format(Math.round(mbs))} MB/s echoed (10 MB while reading), for information`,
  probeSendall:
    "if your server calls send(), sendall() is the portable choice: send() may take only part of the bytes (this probe cannot see which one you call)",
  probeSummary: (passed: number, total: number) =>
    `${number.format(passed)} of ${plural(total, "check", "checks")} passed`,
  probeEnding: {
    complete: (_secs: number) => "",
    eof: (_secs: number) => ", then the end of stream",
    timeout: (secs: number) => `, then nothing for ${seconds.format(secs)} s`,
  },
  probeSame: "the same",
  probeNothing: (secs: number) => `nothing in ${seconds.format(secs)} s`,
  probeNothingEof: "nothing, then the end of stream",
  probeExact: (n: number) => `all ${plural(n, "byte", "bytes")}, exact`,
  probeOf: (got: number, sent: number) =>
    `${number.format(got)} of ${plural(sent, "byte", "bytes")}`,
  probeDiffersAt: (at: number) => ` (different from byte ${number.format(at)} on)`,
  probePieces: (pieces: string, gap: number) => `${pieces}, ${gap} ms apart`,
  probeAllBytes: (n: number) => `bytes 0 to 255, invalid UTF-8 and a newline (${n} bytes)`,
  probeBytes: (n: number) => plural(n, "byte", "bytes"),
  probeSlow: (n: number, pause: number) =>
    `${plural(n, "byte", "bytes")}, reading with a ${pause} ms pause every 256 KiB`,
  probeHalfClose: (n: number) => `${plural(n, "byte", "bytes")}, then half-close (FIN)`,
  probeFin: "FIN (the client left)",
  probeEof: "the end of stream",
  probeNoEof: (secs: number) => `the connection still open after ${seconds.format(secs)} s`,
  probeConnect: "a new connection",
  probeNothingSent: "nothing (the connection had ended)",
  probeRefused: "refused",
  probeServedAgain: "accepted and echoed",
  probeNeverServed:
    "connected (the kernel's listen queue completes the handshake), never echoed, then closed",
  probeQueuedOpen: (secs: number) =>
    `connected (the kernel's listen queue), never echoed, and still open after ${seconds.format(secs)} s`,
  probeTwoClients: "two connections",
  probeFirstNoEcho: (secs: number) => `no echo for the first client in ${seconds.format(secs)} s`,
  probeSecondRefused: "the second one refused or closed",
  probeSecondEarly: "an echo for the second while the first was connected",
  probeSecondNever: (secs: number) =>
    `no echo for the second within ${seconds.format(secs)} s after the first left`,
  probeSecondAfter: "the second echoed only after the first left",
  probeSecondWaited: (secs: number) =>
    `no echo for the second in ${seconds.format(secs)} s while the first was connected`,
  probeBothServed: "both echoed at the same time",
  probeLostOnce: (check: string) =>
    `the connection ended during "${check}", and mode once serves a single connection`,
  probeLostOnceAfter: (check: string) =>
    `the server closed the connection after "${check}" (see above), and mode once serves a single connection`,
  probeOnceByDefault:
    "; the probe checked mode once because it is the default: for a server meant to serve more clients, give --expect sequential or --expect concurrent",
  probeGone: "the server is gone (a new connection was refused)",
  probeHung: (check: string) => `the server stopped answering during "${check}"`,
  probeFlooded: "the server sent far more than it was sent (over 32 MB): cut off",
  probeOutOfTime: (secs: number) => `the whole probe ran out of its ${secs} s`,
  probeCause: {
    notRun: (reason: string) => `not checked: ${reason}`,
    noEcho: (secs: number) =>
      `nothing came back in ${seconds.format(secs)} s: your server did not send the bytes back (is it waiting to fill a buffer, or for more than was sent?)`,
    closed: (got: number, sent: number) =>
      `the server closed the connection after echoing ${number.format(got)} of ${plural(sent, "byte", "bytes")} (does it close after one recv(), or did it crash? look at its terminal)`,
    reset: () =>
      "the connection was reset: the server crashed, or closed its socket with bytes still unread",
    upper: () => "the letters came back in upper case: your server changes the data",
    lost: (got: number, sent: number, secs: number) =>
      `only ${number.format(got)} of ${plural(sent, "byte", "bytes")} came back, then nothing for ${seconds.format(secs)} s: the rest was lost`,
    extra: (n: number) =>
      `${plural(n, "byte", "bytes")} more came back than was sent: your server adds something`,
    oneRecvLines: (missing: number) =>
      `only the first line of each piece recv() returned came back (${plural(missing, "byte", "bytes")} missing): your server takes one recv() for one message`,
    fixedBuffer: (size: number, pieces: number, missing: number) =>
      `only the first ${plural(size, "byte", "bytes")} of each read came back (${number.format(pieces)} pieces of ${number.format(size)}; ${plural(missing, "byte", "bytes")} missing): a fixed ${number.format(size)}-byte buffer cuts off the rest`,
    sendNoLoop: (missing: number, pieces: number) =>
      `${plural(missing, "byte", "bytes")} missing, in holes between ${number.format(pieces)} pieces: send() took only part of each buffer, and the rest was dropped`,
    changed: (at: number) =>
      `the echo differs from what was sent from byte ${number.format(at)} on`,
    speaksTls: () => "a TLS record came back in place of the echo: this server speaks TLS",
    stalled: (secs: number) =>
      `the server stopped reading: for ${seconds.format(secs)} s it took nothing more of what the probe sent`,
    oneRecvPieces: () =>
      "the message arrived in 3 pieces and did not come back as the same bytes: your server takes each recv() for a whole message",
    oneRecvTogether: () =>
      "3 messages arrived in one piece and not all came back: your server takes one recv() for one message",
    decodeCrash: () =>
      "your server decodes what it receives as text, and most likely crashed on the bytes that are not UTF-8: plain text came back, but of these nothing did before the connection ended (look for UnicodeDecodeError in its terminal)",
    textBytes: (at: number, before: string) =>
      `the echo goes wrong at byte ${number.format(at)}${before ? `, right after ${before}` : ""}: your server treats the data as text (decoding UTF-8, strip(), a string function that stops at \\0 or \\n)`,
    closeOnFin: (got: number, sent: number) =>
      `${number.format(got)} of ${plural(sent, "byte", "bytes")} came back, then the end of stream: your server closed as soon as the client half-closed (recv() returned 0), before its echo was out`,
    keptOpen: (secs: number) =>
      `the client closed its side, and ${seconds.format(secs)} s later the server still had not closed the connection`,
    onceAccepted: () =>
      "a second client was served after the first: a server in mode once serves one",
    onceHeld: (secs: number) =>
      `a second client was left waiting ${seconds.format(secs)} s after the first had gone, neither served nor closed: the listening socket is still open`,
    closedAfterOne: (check: string) =>
      `the server closed the connection right after "${check}", while the client had more to send: it closed after one recv()`,
    firstRefused: () => "the connection was refused: the server no longer listens",
    firstNoEcho: (secs: number) =>
      `a new client got no echo in ${seconds.format(secs)} s: your server does not serve a client that comes after the first`,
    secondRefused: () =>
      "a second client was refused or closed at once while the first was connected",
    servedAtOnce: () =>
      "the second client got its echo while the first was still connected: your server serves clients at the same time (that is mode concurrent)",
    nextNotServed: (secs: number) =>
      `the second client got no echo in ${seconds.format(secs)} s after the first left: your server did not go on to the next client`,
    oneAtATime: (secs: number) =>
      `the second client got no echo in ${seconds.format(secs)} s while the first was connected: your server serves one client at a time`,
  },
  probeAdvice: {
    notRun: "fix the failure above first, then run the probe again",
    noEcho: "send back each piece as soon as recv() returns it, whatever its size",
    closed:
      "keep echoing until recv() returns 0 (the client closed its side); look for an exception in the server's output",
    reset:
      "look for an exception in the server's output; read until recv() returns 0 before closing",
    upper: "an echo sends back exactly the bytes it received, unchanged",
    lost: "loop: recv(), then send all of it (sendall() in Python), until recv() returns 0",
    extra: "send back exactly the bytes recv() returned: add nothing (no newline, no prefix)",
    oneRecvLines:
      "TCP is a stream of bytes, not of messages: one recv() may hold part of a message or several; echo every byte",
    fixedBuffer:
      "send back as many bytes as recv() returned (its return value), not a fixed-size copy",
    sendNoLoop:
      "send() returns how many bytes it took: use sendall() (Python), or call send() again with the rest until all is sent",
    changed: "send back exactly the bytes recv() returned: no decoding, no strip(), nothing added",
    speaksTls: "add --tls",
    stalled:
      "read and echo at the same time: a server that stops reading while its echo waits deadlocks with its client",
    oneRecvPieces:
      "TCP is a stream of bytes, not of messages: echo every byte as it comes, adding nothing per recv()",
    oneRecvTogether:
      "TCP is a stream of bytes, not of messages: one recv() can return several messages; echo all of it",
    decodeCrash:
      'echo the bytes as they came, and decode only to print them: print(data.decode(errors="replace"))',
    textBytes: "work with bytes: send back what recv() returned, as it is, without decoding it",
    closeOnFin:
      "when recv() returns 0, first send everything still waiting, then close (shutdown only what you must)",
    keptOpen: "when recv() returns 0 the client is done: close the connection",
    onceAccepted:
      "in mode once, close the listening socket (or exit) once accept() has returned the first client",
    onceHeld: "in mode once, close the listening socket (or exit) when the first client is done",
    closedAfterOne:
      "loop until recv() returns 0 (the client closed its side): recv(), send it all back, recv() again; only then close",
    firstRefused: "keep listening while the mode asks you to (sequential and concurrent: always)",
    firstNoEcho:
      "after a client leaves, go back to accept() and serve the next one (a loop around accept)",
    secondRefused: "keep the listening socket open: the next client waits in the listen() backlog",
    servedAtOnce: "in mode sequential, serve the next client only after the current one leaves",
    nextNotServed:
      "after a client leaves, go back to accept() and serve the next one (a loop around accept)",
    oneAtATime:
      "serve each client in its own thread (or process, or with select/asyncio), so none waits",
  },
};

export type Messages = typeof en;
