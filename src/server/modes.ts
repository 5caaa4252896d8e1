/**
 * Modes: who is served now. Concurrent serves everyone; sequential one client at a time, the
 * others connected but not read from, in arrival order; once one client, then the server ends.
 */
import type { Socket } from "bun";
import type { Conn } from "./connection.ts";
import type { Mode } from "../cli/values.ts";
import type { ServerState, Voice } from "./state.ts";
import { peerWhileWaiting } from "./kernel.ts";

interface ModeHooks {
  /** Mode once: the listener closes once its client came (later ones refused by the kernel). */
  stopListening: () => void;
  /** The server's work is over (mode once's client left, or the last one of a drain). */
  finish: () => void;
  /** Bytes read for a connection while it waited its turn (with its PROXY header): echo them. */
  replay: (socket: Socket<Conn>, bytes: Buffer) => void;
}

interface Modes {
  /** A connection is open (and its PROXY header read): serve it, queue it, or refuse it. */
  admit(socket: Socket<Conn>): void;
  /** A connection closed: the next in line is served; the end of the work is told. */
  release(socket: Socket<Conn>): void;
}

export function modes(
  mode: Mode,
  state: ServerState,
  { say, t }: Voice,
  hooks: ModeHooks,
  /** What a waiting client did meanwhile (its socket unread): the kernel, asked. */
  whileWaiting: (socket: Socket<Conn>) => ReturnType<typeof peerWhileWaiting> = peerWhileWaiting,
): Modes {
  function admit(socket: Socket<Conn>): void {
    if (mode === "concurrent") return;
    if (state.current === undefined) {
      state.current = socket;
      if (mode === "once") {
        hooks.stopListening(); // later attempts are refused by the kernel
        say.event("onceStopsListening", {}, () => t.onceStopsListening);
      }
    } else if (mode === "once") {
      // Accepted by the kernel before stop() took effect.
      const id = socket.data.id;
      state.stats.refused.mode_once++;
      socket.data.refused = true; // said so here; not served, so not in the histograms
      say.event("refused", { id, reason: "mode_once" }, () => t.onceRefused(id), "warn");
      socket.end();
    } else {
      socket.pause(); // its bytes wait in the kernel, untouched, until its turn
      socket.data.waitingTurn = true;
      state.queue.push(socket);
      const [id, ahead] = [socket.data.id, state.queue.length];
      say.event("waiting", { id, ahead }, () => t.waiting(id, ahead));
    }
  }

  function release(socket: Socket<Conn>): void {
    if (socket !== state.current) {
      const i = state.queue.indexOf(socket);
      if (i >= 0) state.queue.splice(i, 1);
    } else if (mode === "once") {
      return hooks.finish();
    } else {
      const next = (state.current = state.queue.shift());
      if (next !== undefined) serve(next);
    }
    if (state.draining && state.connections.size === 0) hooks.finish();
  }

  function serve(socket: Socket<Conn>): void {
    const c = socket.data;
    const early = c.proxy?.early?.length ?? 0;
    const peer = whileWaiting(socket);
    // A FIN after bytes may be a half-close from a client that still reads: it is served, its
    // echo sent, with its data and close lines. Only one that reset, or ended having sent
    // nothing, has gone: nothing is left to echo to anyone.
    if (peer !== undefined && (peer.reset || (peer.ended && peer.unread === 0 && early === 0))) {
      c.refused = true; // not served: no close line, not in the histograms
      say.event("gone", { id: c.id }, () => t.goneWhileWaiting(c.id));
    } else say.event("serving", { id: c.id }, () => t.serving(c.id));
    c.waitingTurn = false;
    c.seen = state.now;
    socket.resume();
    // Bytes that came with its PROXY header, held while it waited: echoed now, in order.
    for (const early of c.proxy?.early?.splice(0) ?? [])
      if (!c.refused) hooks.replay(socket, early);
  }

  return { admit, release };
}
