/** Who is at the other end of a connection, for a person and for a JSON line. */
import type { Socket } from "bun";
import type { Messages } from "../messages/index.ts";
import { formatAddress } from "../common/text.ts";
import { errorReason, errorReasonCode } from "../common/errors.ts";
import type { Conn, Failure } from "./connection.ts";

export interface Peers {
  /** Its address, or a word for a person (`codes`: a code for a JSON line). */
  of(socket: Socket<Conn>, codes?: boolean): string;
  /** The peer for a JSON line: `ip` and `port`, `peer: "unix"`, or nothing when Bun has not said. */
  fields(socket: Socket<Conn>): { ip?: string; port?: number; peer?: "unix" };
  /** Why a connection ended in an error: the code for a JSON line, the words for a person. */
  failure(error: unknown): Failure;
  /**
   * A TLS handshake that failed: a client that does not speak TLS, or gives up, would otherwise
   * close with no reason. A handshake the server itself cut (an idle timeout, a stop) keeps that.
   */
  handshake(socket: Socket<Conn>, ok: boolean, error: Error | null): void;
}

export function peers(t: Messages, unix: boolean): Peers {
  return {
    // Bun leaves remoteAddress undefined for a peer that reset before open() ran: not an
    // error... or, in a narrower window, the address but not yet the port.
    of(socket, codes = false) {
      if (unix) return codes ? "unix" : t.unixPeer;
      const [host, port] = [socket.remoteAddress, socket.remotePort];
      if (host && typeof port === "number") return formatAddress(host, port);
      return codes ? "unknown" : t.unknownPeer;
    },
    fields(socket) {
      if (unix) return { peer: "unix" };
      const [ip, port] = [socket.remoteAddress, socket.remotePort];
      return ip && typeof port === "number" ? { ip, port } : {};
    },
    failure: (error) => ({ ...errorReasonCode(error), text: errorReason(t, error) }),
    handshake(socket, ok, error) {
      if (ok || !socket.data || !error || socket.data.failure !== undefined) return;
      const message = error.message;
      socket.data.failure = /WRONG_VERSION_NUMBER|HTTP_REQUEST/.test(message)
        ? { reason: "not_tls", text: t.clientNotTls }
        : { reason: "tls_handshake", error: message, text: t.tlsHandshakeFailed(message) };
    },
  };
}
