/**
 * A connection told as it goes: its open and close lines (--log-level), each piece read
 * (--log-level data), every event and write (--trace), every byte (--hexdump), and what the live
 * page watches. One stage, present only when one of those can be on.
 */
import type { ServerSettings } from "../../cli/options.ts";
import { dumpedSink, hexdump, MAX_SHOWN } from "../../common/hexdump.ts";
import { preview } from "../../common/text.ts";
import { tracedSink } from "../../common/trace.ts";
import type { Conn } from "../connection.ts";
import type { Peers } from "../peer.ts";
import type { Stage } from "../stages.ts";
import type { Voice } from "../state.ts";

export function connectionLog(
  settings: Pick<ServerSettings, "trace" | "hexdump" | "httpPort">,
  { say, t }: Voice,
  peer: Peers,
  /** The live page is being watched (it comes with --http-port, and goes). */
  watched: () => boolean,
): Stage | undefined {
  const { trace, hexdump: dumps, httpPort } = settings;
  if (!say.showsConnections && !say.showsData && !trace && !dumps && httpPort === undefined)
    return undefined;
  // Made only to be printed: kept on every connection, it cost 0.2 KB each (bench idle).
  const told = () => say.showsConnections || trace || watched();

  /** --hexdump: one piece, in (received) or out (taken by the kernel), at its stream offset. */
  function dump(c: Conn, way: "in" | "out", bytes: Uint8Array): void {
    const dumped = (c.dumped ??= { in: 0, out: 0 });
    const offset = dumped[way];
    dumped[way] += bytes.length;
    const head = way === "in" ? t.hexIn(c.id, bytes.length) : t.hexOut(c.id, bytes.length);
    const lines = hexdump(head, bytes, offset, t.hexNotShown);
    const fields = {
      id: c.id,
      way,
      offset,
      bytes: bytes.length,
      hex: Buffer.from(bytes.subarray(0, MAX_SHOWN)).toString("hex"),
    };
    say.event(way === "in" ? "data" : "write", fields, () => lines.join("\n"), "data");
  }

  return {
    open(socket) {
      if (told()) {
        const id = socket.data.id;
        say.trace(id, "open", peer.of(socket, say.json));
        say.event("open", { id, ...peer.fields(socket) }, () => t.opened(id, peer.of(socket)));
      }
      return false;
    },
    data(socket, chunk) {
      const c = socket.data;
      say.trace(c.id, "data", chunk.length);
      if (c.refused) return chunk; // it had gone before its turn: said so, once
      if (dumps) dump(c, "in", chunk);
      else if (say.showsData) {
        const size = chunk.length;
        const text = () => t.received(c.id, size, preview(chunk));
        say.event("data", { id: c.id, bytes: size }, text, "data");
      }
      return chunk;
    },
    // With --trace every write is reported (bytes taken of bytes offered), with --hexdump every
    // byte the kernel took.
    sink:
      !trace && !dumps
        ? undefined
        : (socket, inner) => {
            const c = socket.data;
            const traced = trace ? tracedSink(inner, c.id, say.trace) : inner;
            return dumps ? dumpedSink(traced, (bytes) => dump(c, "out", bytes)) : traced;
          },
    close(socket, { echoed, undelivered, failure }) {
      const c = socket.data;
      if (c.refused || !told()) return;
      const reason = failure?.text;
      say.trace(c.id, "close", (say.json ? failure?.reason : reason) ?? "");
      const secs = (performance.now() - c.openedAt) / 1000;
      const fields = { id: c.id, echoed, undelivered, seconds: secs };
      // Echo that never reached its client, or a connection the stop cut: worth a warning.
      const cut =
        undelivered > 0 || failure?.reason === "drain_timeout" || failure?.reason === "forced";
      say.event(
        "close",
        { ...fields, reason: failure?.reason, error: failure?.error },
        () => t.closed(c.id, echoed, secs, reason, undelivered),
        cut ? "warn" : "info",
      );
    },
  };
}
