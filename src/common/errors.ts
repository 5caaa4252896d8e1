/** Turns runtime errors into one line a person can act on (never a stack trace). */
import type { Messages } from "../messages/index.ts";
import { formatAddress, printablePath } from "./text.ts";
import type { TlsFileError } from "./tls.ts";

type ErrorLike = { code?: unknown; errno?: unknown; message?: unknown; name?: unknown };

export function errorCode(error: unknown): string | undefined {
  const code = (error as ErrorLike | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A short reason for a connection that ended in an error. */
export function errorReason(t: Messages, error: unknown): string {
  const code = errorCode(error);
  if (code === "ECONNRESET") return t.resetByPeer;
  if (code === "EPIPE") return t.brokenPipe;
  const message = String((error as ErrorLike | null)?.message ?? error).split("\n")[0];
  return code !== undefined && !message?.includes(code) ? `${code}: ${message}` : String(message);
}

/**
 * The same, for a machine (a JSON log line): a code that reads the same in every language,
 * with the system's own error code when it is not one of ours.
 */
export function errorReasonCode(error: unknown): { reason: string; error?: string } {
  const code = errorCode(error);
  if (code === "ECONNRESET") return { reason: "reset" };
  if (code === "EPIPE") return { reason: "broken_pipe" };
  const name = (error as ErrorLike | null)?.name;
  return { reason: "error", error: code ?? (typeof name === "string" ? name : "unknown") };
}

/** What `Bun.listen` threw, said the way the user can fix it. */
export function listenErrorMessage(
  t: Messages,
  error: unknown,
  host: string,
  port: number,
  tls: boolean,
  hostResolves: boolean,
): string {
  const address = formatAddress(host, port);
  if (tls && /ssl|tls|cert|key|pem/i.test(String((error as ErrorLike | null)?.message))) {
    const reason = errorReason(t, error);
    return t.tlsInvalid(/KEY_VALUES_MISMATCH/.test(reason) ? t.tlsKeyMismatch : reason);
  }
  switch (errorCode(error)) {
    case "EADDRINUSE":
      return t.portInUse(address, port);
    case "EACCES":
    case "EPERM":
      return t.permissionDenied(address);
    case "EADDRNOTAVAIL":
      return t.addressNotAvailable(host);
    case "ENOTFOUND":
    case "EAI_NONAME":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return t.hostNotFound(host);
  }
  // Bun says only "Failed to listen at HOST" both for a name that does not resolve and for an
  // address that is not on this machine: the caller has asked which.
  if (/failed to listen/i.test(String((error as ErrorLike | null)?.message)))
    return hostResolves ? t.addressNotAvailable(host) : t.hostNotFound(host);
  return t.listenFailed(address, errorReason(t, error));
}

/** `listenErrorMessage`'s choice, as a code for a JSON log line. */
export function listenErrorCode(error: unknown, tls: boolean, hostResolves: boolean): string {
  if (tls && /ssl|tls|cert|key|pem/i.test(String((error as ErrorLike | null)?.message)))
    return "tls_invalid";
  const code = errorCode(error);
  if (code === "EADDRINUSE") return "in_use";
  if (code === "EACCES" || code === "EPERM") return "denied";
  if (code === "EADDRNOTAVAIL") return "not_available";
  if (code !== undefined && /^(ENOTFOUND|EAI_NONAME|EAI_AGAIN|EAI_FAIL)$/.test(code))
    return "host_not_found";
  if (/failed to listen/i.test(String((error as ErrorLike | null)?.message)))
    return hostResolves ? "not_available" : "host_not_found";
  return code ?? "unknown";
}

/** A TLS file that cannot be used, named. */
export function tlsFileMessage(t: Messages, error: TlsFileError): string {
  const what = t.tlsFileKind[error.kind];
  return t.tlsFile[error.problem](what, printablePath(error.path, false), error.reason);
}

/** What `Bun.connect` rejected with, said the way the user can fix it. */
export function connectErrorMessage(
  t: Messages,
  error: unknown,
  host: string,
  port: number,
  unix?: string,
): string {
  const address = unix ?? formatAddress(host, port);
  switch (errorCode(error)) {
    case "ENOENT":
      if (unix !== undefined) return t.unixMissing(unix);
      break;
    case "ECONNREFUSED":
    case "ENOTSOCK":
      return unix !== undefined ? t.unixRefused(unix) : t.refused(address);
    case "ENOTFOUND":
    case "EAI_NONAME":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return t.unknownHost(host);
  }
  return t.connectFailed(address, errorReason(t, error));
}
