/** English catalog. Every key here must exist in pt.ts too (the type and a test enforce it). */

const number = new Intl.NumberFormat("en-US");
const seconds = new Intl.NumberFormat("en-US", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const plural = (n: number, one: string, many: string) =>
  `${number.format(n)} ${n === 1 ? one : many}`;

export const en = {
  // shared
  usageError: (problem: string, program: string) =>
    `error: ${problem} (see: bun run ${program} --help)`,
  unknownOption: (option: string) => `unknown option ${option}`,
  missingValue: (option: string) => `option ${option} needs a value`,
  unexpectedArgument: (arg: string) => `unexpected argument "${arg}"`,
  badPort: (source: string, value: string) =>
    `${source} must be a whole number from 0 to 65535, not "${value}"`,
  badClientPort: (source: string, value: string) =>
    `${source} must be a whole number from 1 to 65535, not "${value}"`,
  badMode: (source: string, value: string) =>
    `${source} must be once, sequential or concurrent, not "${value}"`,
  badSeconds: (source: string, value: string) =>
    `${source} must be a positive number of seconds, not "${value}"`,
  badCount: (source: string, value: string) =>
    `${source} must be a whole number of at least 1, not "${value}"`,
  badBytes: (source: string, value: string) =>
    `${source} must be a size in bytes such as 65536, 64k or 1m (at most 1024m), not "${value}"`,
  badWorkers: (source: string, value: string, max: number) =>
    `${source} must be auto or a whole number from 1 to ${max}, not "${value}"`,
  tlsPairNeeded: "--tls-cert and --tls-key go together: give both, or neither",
  badLang: (value: string) => `--lang must be en or pt, not "${value}"`,

  // server
  serverHelp: `Usage: bun run server [options]

Echo server, the passive side: sends back every byte it receives, unchanged.

Options (environment variable in brackets):
  --host HOST     address to listen on; 0.0.0.0 or :: also serves other
                  machines (default 127.0.0.1)                  [ECHO_HOST]
  --port PORT     port to listen on; 0 picks a free one (default 5000)
                                                                [ECHO_PORT]
  --mode MODE     once        serve one client, then exit (default)
                  sequential  one client at a time; the others wait
                  concurrent  every client at once              [ECHO_MODE]
  --max-connections N   close new connections beyond N open ones
                        (default 10000)              [ECHO_MAX_CONNECTIONS]
  --idle-timeout SECS   close a connection with no traffic for this long;
                        0 = never (default 300)         [ECHO_IDLE_TIMEOUT]
  --max-buffer BYTES    echo held for a client that reads slower than it
                        sends before the server stops reading from it;
                        65536, 64k, 1m (default 256k)     [ECHO_MAX_BUFFER]
  --workers N     N server processes sharing the port (SO_REUSEPORT), for
                  every core; auto = one per core; needs --mode
                  concurrent; limits apply per process (default 1)
                                                             [ECHO_WORKERS]
  --tls-cert FILE  serve TLS with this certificate (PEM)    [ECHO_TLS_CERT]
  --tls-key FILE   and this private key (PEM)                [ECHO_TLS_KEY]
  -q, --quiet     print only the listening line and errors
  --trace         print every socket event on stderr, with a timestamp
  --lang LANG     en or pt (default: from LC_ALL, LC_MESSAGES, LANG)
  -h, --help      show this help
  -v, --version   show the version

Exit status: 0 finished, 1 could not listen, 2 usage error,
130 or 143 stopped by a second Ctrl-C or SIGTERM.`,
  listening: (address: string, mode: string) => `listening on ${address} (mode ${mode})`,
  opened: (id: number, peer: string) => `#${id} connected from ${peer}`,
  received: (id: number, size: number, preview: string) =>
    `#${id} received ${plural(size, "byte", "bytes")}: ${preview}`,
  closed: (id: number, echoed: number, secs: number) =>
    `#${id} closed: ${plural(echoed, "byte", "bytes")} echoed in ${seconds.format(secs)} s`,
  closedWithError: (id: number, echoed: number, secs: number, reason: string) =>
    `#${id} closed: ${plural(echoed, "byte", "bytes")} echoed in ${seconds.format(secs)} s (${reason})`,
  connectionError: (id: number, reason: string) => `#${id} error: ${reason}`,
  onceStopsListening: "mode once: no longer accepting connections",
  onceRefused: (id: number) => `#${id} refused: mode once serves a single client`,
  waiting: (id: number, ahead: number) =>
    `#${id} waiting: ${plural(ahead, "client", "clients")} ahead`,
  serving: (id: number) => `#${id} now being served`,
  stopping: (open: number) =>
    `stopping: no new connections; waiting for ${plural(open, "open connection", "open connections")} to finish (press Ctrl-C again to close them now)`,
  stalled: (open: number) =>
    `closing ${plural(open, "connection", "connections")} with no traffic since the stop`,
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
  idleClosed: (secs: number) => `no traffic for ${seconds.format(secs)} s, the --idle-timeout`,
  tlsKeyMismatch: "the key does not belong to the certificate",
  connectionLost: "connection lost: the peer is gone (reset or closed)",
  brokenPipe: "the peer stopped reading (broken pipe)",
  tlsUnreadable: (what: string, path: string, reason: string) =>
    `error: cannot read the TLS ${what} file "${path}" (${reason})`,
  tlsNotPem: (what: string, path: string) =>
    `error: the TLS ${what} file "${path}" is not in PEM format (-----BEGIN ...)`,
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
  internalError: (reason: string) => `error: ${reason} (the server keeps running)`,

  // client
  clientHelp: `Usage: bun run client [options]

Echo client, the active side: sends each line you type and prints the echo.
Type fim (or press Ctrl-D) to close the connection and leave; fim is not sent.

Options (environment variable in brackets):
  --host HOST       server to connect to (default 127.0.0.1)    [ECHO_HOST]
  --port PORT       server's port (default 5000)                [ECHO_PORT]
  --timeout SECS    give up when no byte of an awaited echo arrives for
                    this long (default 10)
  --tls             connect with TLS, verifying the server's certificate
                    against the system's trusted certificates
  --tls-ca FILE     verify against this CA certificate (PEM) instead
  --insecure        TLS without verifying the server (tests only)
  --trace           print every socket event on stderr, with a timestamp
  --lang LANG       en or pt (default: from LC_ALL, LC_MESSAGES, LANG)
  -h, --help        show this help
  -v, --version     show the version

Echoes go to stdout, one per line; the prompt and status lines go to stderr.
Exit status: 0 left with fim or end of input, 1 connection error,
2 usage error.`,
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
    `error: connection refused by ${address}; start the server first (bun run server), or check --host and --port`,
  unknownHost: (host: string) => `error: unknown host "${host}"`,
  connectFailed: (address: string, reason: string) =>
    `error: cannot connect to ${address}: ${reason}`,
  echoTimeout: (secs: number) =>
    `error: no echo from the server for ${seconds.format(secs)} s; giving up (see --timeout)`,
  serverClosed: "error: the server closed the connection",
  serverReset: "error: the server reset the connection",
};

export type Messages = typeof en;
