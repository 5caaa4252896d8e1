/** The catalogs, and the language the environment asks for (--lang is read in command-line.ts). */
import { en, type Messages } from "./en.ts";
import { pt } from "./pt.ts";

export type { Messages };
export const catalogs: Record<"en" | "pt", Messages> = { en, pt };
export type Lang = keyof typeof catalogs;

/** LC_ALL, LC_MESSAGES, LANG: the first that is set and non-empty decides, as in setlocale(3). */
export function langFromEnv(env: Record<string, string | undefined>): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return locale.toLowerCase().startsWith("pt") ? "pt" : "en";
}
