/** Picks the catalog: `--lang`, else LC_ALL, LC_MESSAGES, LANG (the POSIX order), else English. */
import { en, type Messages } from "./en.ts";
import { pt } from "./pt.ts";

export type { Messages };
export const catalogs = { en, pt } as const;
export type Lang = keyof typeof catalogs;

export function isLang(value: string): value is Lang {
  return value === "en" || value === "pt";
}

export function langFromEnv(env: Record<string, string | undefined>): Lang {
  // The first variable that is set and non-empty decides, as in setlocale(3).
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return locale.toLowerCase().startsWith("pt") ? "pt" : "en";
}

/** `--lang` may appear anywhere; found before parsing so usage errors are in that language too. */
export function langFromArgs(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--lang") return argv[i + 1];
    if (arg.startsWith("--lang=")) return arg.slice("--lang=".length);
  }
  return undefined;
}

export function messagesFor(argv: readonly string[], env: Record<string, string | undefined>) {
  const asked = langFromArgs(argv);
  const lang = asked !== undefined && isLang(asked) ? asked : langFromEnv(env);
  return {
    lang,
    t: catalogs[lang] as Messages,
    badLang: asked !== undefined && !isLang(asked) ? asked : undefined,
  };
}
