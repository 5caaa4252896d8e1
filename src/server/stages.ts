/**
 * Features as stages (as in Netty's pipeline): each a small object with the hooks it needs,
 * composed once at start-up, so that the echo's path calls nothing for a feature that is off.
 */
import type { Socket } from "bun";
import type { ByteSink } from "../common/outbox.ts";
import type { Conn, Failure } from "./connection.ts";

/** How a connection ended, for the stages that tell it. */
export interface Ending {
  echoed: number;
  undelivered: number;
  failure?: Failure;
}

export interface Stage {
  /** A connection is open; true when the stage holds it (the mode admits it later, or never). */
  open?(socket: Socket<Conn>): boolean;
  /** A piece read: the bytes to echo (none: the stage took them). */
  data?(socket: Socket<Conn>, chunk: Buffer): Buffer;
  /** What the echo writes to, around what the stages after it made of the socket. */
  sink?(socket: Socket<Conn>, inner: ByteSink): ByteSink;
  /** The peer ended; true when the stage dealt with it (closed the connection). */
  end?(socket: Socket<Conn>): boolean;
  close?(socket: Socket<Conn>, ending: Ending): void;
}

/** The stages that are on, as one: each hook undefined when no stage has it. */
interface Pipeline {
  open: (socket: Socket<Conn>) => boolean;
  data?: (socket: Socket<Conn>, chunk: Buffer) => Buffer;
  sink: (socket: Socket<Conn>) => ByteSink;
  end: (socket: Socket<Conn>) => boolean;
  close: (socket: Socket<Conn>, ending: Ending) => void;
}

const EMPTY = Buffer.alloc(0);

export function compose(all: readonly (Stage | undefined)[]): Pipeline {
  const stages = all.filter((stage) => stage !== undefined);
  const hooks = <K extends keyof Stage>(name: K) =>
    stages.flatMap((stage) =>
      stage[name] ? [stage[name].bind(stage) as NonNullable<Stage[K]>] : [],
    );
  const [opens, datas, sinks, ends, closes] = [
    hooks("open"),
    hooks("data"),
    hooks("sink"),
    hooks("end"),
    hooks("close"),
  ];
  return {
    open: (socket) => opens.some((open) => open(socket)),
    data:
      datas.length === 0
        ? undefined
        : datas.length === 1
          ? datas[0]
          : (socket, chunk) => {
              for (const data of datas) {
                chunk = data(socket, chunk);
                if (chunk.length === 0) return EMPTY;
              }
              return chunk;
            },
    // None on: the socket itself, with nothing built per write.
    sink:
      sinks.length === 0
        ? (socket) => socket
        : (socket) => sinks.reduce<ByteSink>((inner, sink) => sink(socket, inner), socket),
    end: (socket) => ends.some((end) => end(socket)),
    close: (socket, ending) => {
      for (const close of closes) close(socket, ending);
    },
  };
}
