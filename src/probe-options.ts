/**
 * The options of `bun run probe`, one row each, in the same shape as src/options.ts (which the
 * lead may merge this table into): the key is the flag, then its environment variable, default
 * (as typed), parser and help sentence (a key of the catalogs' `optionHelp`).
 */
import * as v from "./values.ts";
import type { Table, Values } from "./command-line.ts";

const file = (text: string) => text;

export const probeOptions = {
  host: { arg: "HOST", env: "ECHO_HOST", default: "127.0.0.1", parse: v.host, help: "probeHost" },
  port: { arg: "PORT", env: "ECHO_PORT", default: "5000", parse: v.clientPort, help: "clientPort" },
  expect: { arg: "MODE", default: "once", parse: v.mode, help: "probeExpect" },
  timeout: { arg: "SECS", default: "3", parse: v.seconds, help: "probeTimeout" },
  slowPause: { arg: "MS", default: "20", parse: v.count, help: "probeSlowPause" },
  tls: { help: "tls" },
  tlsCa: { arg: "FILE", parse: file, help: "tlsCa" },
  insecure: { help: "insecure" },
  json: { help: "probeJson" },
  lang: { arg: "LANG", help: "lang", parse: v.lang },
} as const satisfies Table;

export type ProbeValues = Values<typeof probeOptions>;

/** --tls-ca and --insecure imply --tls, as for the client. */
export function probeSettings(values: ProbeValues) {
  const { tls, tlsCa, insecure, ...rest } = values;
  const secure = tls || tlsCa !== undefined || insecure;
  return { ...rest, tls: secure ? { ca: tlsCa, insecure } : undefined };
}
export type ProbeSettings = ReturnType<typeof probeSettings>;
