/** A command on a pseudo-terminal of its own (script(1)): what a person at a terminal sees. */
import { type Child, PATH_WITH_BUN, runCommand } from "./children.ts";

/** A command on a pseudo-terminal of its own: what the terminal shows, and a keyboard. */
export interface Terminal extends Child {
  /** The command line, as given. */
  readonly command: string;
  /** All the terminal has shown so far, as it came: CR LF line ends, escapes and all. */
  readonly screen: string;
  /** Presses `keys` now: "\x03" is Ctrl-C, "\x04" Ctrl-D, "\n" Enter. */
  type(keys: string): void;
  /** Types `line` and Enter once the next prompt is showing (one more than answered so far). */
  answer(line: string, prompt?: string): Promise<void>;
  /** Resolves once the screen has shown `text`, `times` times; rejects if the terminal ends first. */
  shows(text: string, times?: number): Promise<void>;
  /** Resolves once the last, unfinished line ends with `text`: a prompt waiting for input. */
  prompts(text: string): Promise<void>;
}

/**
 * Runs a shell command line on a pseudo-terminal (script(1)), as a person at a terminal runs
 * it: the project's Bun first on PATH (for `bun run`), TERM=dumb, and the clean environment,
 * so no colour unless `env` gives NO_COLOR "". Killed after the test like every other child.
 */
export function onTerminal(
  command: string,
  env: Record<string, string | undefined> = {},
): Terminal {
  // -q: no "Script started" lines; -f: each write shown at once; -e: the command's exit status;
  // -c: the command line; /dev/null: no typescript file. `exec`: an interactive shell runs the
  // command as a job of its own, so Ctrl-C reaches the command and not the shell; without it, a
  // `sh -c` that stays (dash, where SHELL is unset) would die of the Ctrl-C and report 130.
  const child = runCommand(["script", "-qfec", `exec ${command}`, "/dev/null"], {
    env: { PATH: PATH_WITH_BUN, TERM: "dumb", ...env },
  });
  const type = (keys: string) => {
    child.proc.stdin.write(keys);
    child.proc.stdin.flush();
  };
  let answered = 0;
  return {
    ...child,
    command,
    get screen() {
      return child.out.raw;
    },
    type,
    async answer(line, prompt = "> ") {
      await child.out.shows(prompt, ++answered);
      type(`${line}\n`);
    },
    shows: (text, times) => child.out.shows(text, times),
    prompts: (text) => child.out.prompts(text),
  };
}
