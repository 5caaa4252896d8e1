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
  usageError: (problem: string, program: string) =>
    `error: ${problem} (see: bun run ${program} --help)`,
  unknownOption: (option: string) => `unknown option ${option}`,
  missingValue: (option: string) => `option ${option} needs a value`,
  flagTakesNoValue: (option: string) => `option ${option} takes no value`,
  unexpectedArgument: (arg: string) => `unexpected argument "${arg}"`,
  /** Why a value was refused: each parser of src/values.ts throws one of these codes. */
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
    count: (source: string, value: string) =>
      `${source} must be a whole number of at least 1, not "${value}"`,
    bytes: (source: string, value: string, max: number) =>
      `${source} must be a size in bytes such as 65536, 64k or 1m (at most ${size(max)}), not "${value}"`,
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
  },
  tlsPairNeeded: "--tls-cert and --tls-key go together: give both or neither",
  notWith: (option: string, other: string) => `${option} does not go with ${other}`,
  onlyWith: (option: string, other: string) => `${option} only makes sense with ${other}`,
  udpMode: (mode: string) =>
    `--udp serves every sender at once (datagrams have no connection): --mode ${mode} does not apply`,
  optionsHeading: "Options (environment variable in brackets):",
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
      "serve GET /healthz, /readyz and /metrics (Prometheus) on this port; 0 picks a free one",
    httpHost: "address for --http-port",
    drainTimeout:
      "after a stop signal, close connections still open after this long; 0 = wait for them",
    logFormat: "text, or json: one JSON object per line on stdout, for log collectors",
    quiet: "print only the listening line and errors",
    trace: "print every socket event on stderr, with a timestamp",
    hexdump:
      "show every piece received and sent as hex and text, like xxd (at most 256 bytes of each)",
    lang: "en or pt (default: from LC_ALL, LC_MESSAGES, LANG)",
    clientHost: "server to connect to",
    clientPort: "server's port",
    timeout:
      "give up when no byte of an awaited echo (or of the TLS handshake) arrives for this long; 0 = wait as long as it takes",
    tls: "connect with TLS, verifying the server's certificate against the system's trusted certificates",
    tlsCa: "verify the server against this CA certificate (PEM) instead",
    insecure: "TLS without verifying the server (tests only)",
    clientUdp: "send each line as one UDP datagram; resend it when its echo is late",
    retries: "with --udp, how many times to send a message again before giving up",
    clientUnix: "connect to this Unix-domain socket file instead of --host/--port",
    help: "show this help",
    version: "show the version",
  },

  // server
  datagram: (from: string, size: number, preview: string) =>
    `${from} sent ${plural(size, "byte", "bytes")}: ${preview}`,
  udpSummary: (
    datagrams: number,
    bytes: number,
    dropped: number,
    unreachable: number,
    secs: number,
  ) =>
    `stopped: ${plural(datagrams, "datagram", "datagrams")}, ${plural(bytes, "byte", "bytes")} echoed, ${number.format(dropped)} dropped (queue full), ${number.format(unreachable)} to senders gone (port unreachable), up ${seconds.format(secs)} s`,
  unixInUse: (path: string) =>
    `error: a server already answers on ${path}; stop it first, or choose another --unix path`,
  unixNotSocket: (path: string) =>
    `error: ${path} exists and is not a socket: refusing to replace it (choose another --unix path)`,
  unixNoDirectory: (path: string) =>
    `error: cannot create the socket ${path}: its directory does not exist`,
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
    perSecond: "bytes/s",
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
  proxyProblem: {
    signature: "its first bytes are not a PROXY header",
    v1TooLong: "a v1 header longer than 107 bytes",
    v1Malformed: "a malformed v1 header",
    v2Version: "an unknown v2 version",
    v2Command: "an unknown v2 command",
    v2TooLong: "a v2 header longer than the limit",
    v2Malformed: "a malformed v2 header",
    timeout: "no header within 3 s",
  },
  drainTimedOut: (n: number, secs: number) =>
    `closing ${plural(n, "connection", "connections")} still open ${seconds.format(secs)} s after the stop (--drain-timeout)`,
  httpListening: (address: string) =>
    `health and metrics on http://${address}/ (/healthz, /readyz, /metrics)`,
  httpFailed: (address: string, reason: string) =>
    `error: cannot serve health and metrics on ${address}: ${reason}`,
  serverUsage: "Usage: bun run server [options]",
  serverIntro: "Echo server, the passive side: sends back every byte it receives, unchanged.",
  serverOutro: `A first Ctrl-C, SIGTERM or SIGHUP stops accepting new connections and lets the
open ones finish their echo; a second one closes them at once.
Exit status: 0 finished, 1 could not listen, 2 usage error, 70 internal error,
130, 143 or 129 closed at once by a second Ctrl-C, SIGTERM or SIGHUP.`,
  listening: (address: string, details: string) => `listening on ${address} (${details})`,
  modeLabel: (mode: string) => `mode ${mode}`,

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
  onceRefused: (id: number) => `#${id} refused: mode once serves a single client`,
  waiting: (id: number, ahead: number) =>
    `#${id} waiting: ${plural(ahead, "client", "clients")} ahead`,
  serving: (id: number) => `#${id} now being served`,
  stopping: (open: number) =>
    `stopping: no new connections; waiting for ${plural(open, "open connection", "open connections")} to finish (press Ctrl-C again to close them now)`,
  stalled: "no traffic for 2 s after the stop",
  forced: (open: number) => `closing ${plural(open, "connection", "connections")} now`,
  summary: (connections: number, echoed: number, secs: number) =>
    `stopped: ${plural(connections, "connection", "connections")}, ${plural(echoed, "byte", "bytes")} echoed, up ${seconds.format(secs)} s`,
  portInUse: (address: string, port: number) =>
    `error: ${address} is already in use; is another server running? Choose another port with --port (for example --port ${port + 1}, or --port 0 for any free one)`,
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
  workerFailing: (k: number) =>
    `error: worker ${k} keeps ending right after it starts; stopping the server`,
  exitedWith: (code: number | null, signal: string | null) =>
    signal ? `signal ${signal}` : `exit code ${code}`,
  internalError: (reason: string) =>
    `error: internal error: ${reason}; the server stops (exit status 70)`,

  // client
  clientUsage: "Usage: bun run client [options]",
  clientIntro: `Echo client, the active side: sends each line you type and prints the echo.
Type fim (in any case) or press Ctrl-D to close the connection and leave;
fim is not sent.`,
  clientOutro: `Echoes go to stdout, one per line; the prompt and status lines go to stderr.
Exit status: 0 left with fim or end of input, 1 connection error or lost
echo, 2 usage error.`,
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
  unknownHost: (host: string) => `error: unknown host "${host}"`,
  connectFailed: (address: string, reason: string) =>
    `error: cannot connect to ${address}: ${reason}`,
  echoTimeout: (secs: number) =>
    `error: no echo from the server for ${seconds.format(secs)} s; giving up (see --timeout)`,
  serverClosed: "error: the server closed the connection",
  serverClosedAtOnce:
    "error: the server closed the connection at once (a server in mode once serves a single client)",
  notTls: (address: string) =>
    `error: ${address} does not speak TLS (is it a plain TCP echo server? leave out --tls)`,
  handshakeTimeout: (secs: number) =>
    `error: no TLS handshake from the server for ${seconds.format(secs)} s; giving up (see --timeout)`,
  stillWaiting: (secs: number) =>
    `still waiting for the server after ${seconds.format(secs)} s (in mode sequential it serves one client at a time: yours comes next); Ctrl-C leaves`,
  inputFailed: (reason: string) => `error: cannot read standard input (${reason})`,
  strayFlood: (n: number) =>
    `warning: the server has sent ${plural(n, "byte", "bytes")} that echo no message`,
  outputFailed: (reason: string) => `error: cannot write the echo to standard output (${reason})`,
  serverReset: "error: the server reset the connection",
  connectedUdp: (address: string) =>
    `sending UDP datagrams to ${address}; type a message, or fim (or Ctrl-D) to leave`,
  udpUnreachable: (address: string) =>
    `error: nobody listens on UDP ${address} (the machine answered "port unreachable")`,
  udpNoEcho: (tries: number, address: string) =>
    `error: no echo from ${address} after ${plural(tries, "try", "tries")}; UDP may lose datagrams, or no server is there (see --retries)`,
  lineTooLong: (size: number, max: number) =>
    `error: this line is ${number.format(size)} bytes with its newline; one UDP datagram carries at most ${number.format(max)}`,
  unixMissing: (path: string) =>
    `error: no socket at ${path}; start the server first (bun run server --unix ${path})`,
};

export type Messages = typeof en;
