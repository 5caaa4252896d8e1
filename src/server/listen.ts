/**
 * Listening: where (the listening line), TLS files read up front, a --unix path claimed, the
 * open-files cap, and one clear line for each way it can fail. The entry point exits.
 */
import type { SocketHandler, TCPSocketListener, UnixSocketListener } from "bun";
import type { ServerSettings } from "../cli/options.ts";
import type { Messages } from "../messages/index.ts";
import {
  errorCode,
  errorReason,
  listenErrorCode,
  listenErrorMessage,
  tlsFileMessage,
} from "../common/errors.ts";
import { hostResolves } from "../common/net.ts";
import { formatAddress, printablePath } from "../common/text.ts";
import { readTls, TlsFileError } from "../common/tls.ts";
import type { Conn } from "./connection.ts";
import { connectionsWithin, openFilesLimit } from "./kernel.ts";
import { HTTP_DESCRIPTORS } from "./features/http/endpoint.ts";
import { claimSocketPath, removeOnExit, type UnixProblem } from "./features/unix-socket.ts";
import type { ReusePort, Role } from "./features/workers.ts";
import { shapingFlags } from "./features/shaping.ts";
import type { Voice } from "./state.ts";

export type Listener = TCPSocketListener<Conn> | UnixSocketListener<Conn>;

/** A --unix path that cannot be ours: its line, and its code in a JSON line. */
const UNIX_PROBLEM = {
  inUse: ["unixInUse", "in_use"],
  notSocket: ["unixNotSocket", "not_socket"],
  noDirectory: ["unixNoDirectory", "no_directory"],
  denied: ["unixDenied", "denied"],
} as const satisfies Record<UnixProblem, readonly [keyof Messages, string]>;

/** The listening line, and where it listens in words (a path is printed escaped: one line). */
export function announcer(settings: ServerSettings, { say, t }: Voice, workers: number) {
  const { host, unix, udp, mode } = settings;
  const unixPath = unix === undefined ? undefined : printablePath(unix);
  const place = (port: number) => unixPath ?? formatAddress(host, port);
  const label = [
    udp ? "UDP" : t.modeLabel(mode),
    workers > 1 && t.workers(workers),
    settings.tlsFiles && "TLS",
    settings.shaping && t.shapedLabel(shapingFlags(settings.shaping)),
  ].filter(Boolean);
  const fields = (port: number) => (unix !== undefined ? { path: unix } : { host, port });
  const announce = (port: number) =>
    say.event(
      "listening",
      { ...fields(port), mode: udp ? "udp" : mode, shaping: settings.shaping },
      () => t.listening(place(port), label.join(", ")),
      "always",
    );
  return { place, announce };
}

/** The line for a TCP port that cannot be listened on (taken, denied, a host not found...). */
export async function sayListenFailed(
  { host, port }: { host: string; port: number },
  { say, t }: Voice,
  error: unknown,
  secure: boolean,
): Promise<void> {
  const resolves = await hostResolves(host);
  const fields = { host, port, error: listenErrorCode(error, secure, resolves) };
  say.error("listenFailed", fields, () =>
    listenErrorMessage(t, error, host, port, secure, resolves),
  );
}

/**
 * More connections than descriptors would make accept() fail again and again (EMFILE): the
 * most --max-connections can be, after what the HTTP endpoint may hold, told when it is less.
 */
export function connectionsCap(settings: ServerSettings, { say, t }: Voice): number {
  const [filesLimit, forEcho] = [openFilesLimit(), capOf(settings)];
  if (filesLimit === undefined || forEcho >= settings.maxConnections) return forEcho;
  const fields = { limit: filesLimit, max: forEcho };
  say.warn("filesLimitLower", fields, () => t.filesLimitLower(filesLimit, forEcho));
  return forEcho;
}

/** The connections a server takes: --max-connections, or fewer if `ulimit -n` would run out. */
export function capOf(settings: ServerSettings): number {
  const filesLimit = openFilesLimit();
  const { maxConnections, httpPort } = settings;
  if (filesLimit === undefined) return maxConnections;
  const forEcho = connectionsWithin(filesLimit - (httpPort === undefined ? 0 : HTTP_DESCRIPTORS));
  return Math.min(forEcho, maxConnections);
}

/** Listens for connections; undefined once the reason it cannot has been said. */
export async function listenStreams(
  settings: ServerSettings,
  role: Role,
  socket: SocketHandler<Conn>,
  voice: Voice,
): Promise<Listener | undefined> {
  const { say, t } = voice;
  const { unix, tlsFiles } = settings;
  const sayUnixProblem = (problem: UnixProblem, path: string) => {
    const [key, code] = UNIX_PROBLEM[problem];
    say.error("listenFailed", { path, error: code }, () => t[key](printablePath(path)));
  };
  let tls: Awaited<ReturnType<typeof readTls>> | undefined;
  try {
    tls = tlsFiles && (await readTls(tlsFiles));
  } catch (error) {
    if (!(error instanceof TlsFileError)) throw error;
    const { kind: file, path, problem } = error;
    say.error("tlsFile", { file, path, problem }, () => tlsFileMessage(t, error));
    return undefined;
  }
  const unixProblem = unix !== undefined && (await claimSocketPath(unix));
  if (unixProblem && unix !== undefined) {
    sayUnixProblem(unixProblem, unix);
    return undefined;
  }
  const common = { tls, allowHalfOpen: true, socket };
  const port = role.port(settings.port); // a worker's: the one its parent holds
  try {
    if (unix === undefined) {
      const options: Bun.TCPSocketListenOptions<Conn> & ReusePort = {
        hostname: settings.host,
        port,
        reusePort: !role.alone,
        ...common,
      };
      return Bun.listen<Conn>(options);
    }
    const listener = Bun.listen<Conn>({ unix, ...common });
    removeOnExit(unix); // ours now: it goes when we do
    return listener;
  } catch (error) {
    const [host, secure] = [settings.host, tls !== undefined];
    if (unix === undefined) await sayListenFailed({ host, port }, voice, error, secure);
    else {
      const code = errorCode(error);
      const problem =
        code === "EADDRINUSE" ? "inUse" : code === "ENOENT" ? "noDirectory" : "denied";
      if (code === "EADDRINUSE" || code === "ENOENT" || code === "EACCES" || code === "EPERM")
        sayUnixProblem(problem, unix);
      else
        say.error("listenFailed", { path: unix, error: code ?? "unknown" }, () =>
          t.listenFailed(printablePath(unix), errorReason(t, error)),
        );
    }
    return undefined;
  }
}
