/** The user's input, line by line, as the client treats it. */

/** The stop word: the whole line, in any case, ignoring surrounding spaces and a trailing CR. */
const STOP_WORD = "fim";

export function isStopWord(line: string): boolean {
  return line.trim().toLowerCase() === STOP_WORD;
}

/** A line from CRLF input keeps its CR in Bun's iterator; the CR is not part of the message. */
export function withoutCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * The most a terminal in canonical mode keeps of one line, newline aside: Linux's N_TTY cuts a
 * longer line there, before any program reads it (a 4,999-character paste arrives as 4,095 and a
 * newline). Elsewhere unknown.
 */
export const TERMINAL_LINE_MAX = process.platform === "linux" ? 4095 : undefined;

/** A line read from a terminal that reached its limit, and so was likely cut. */
export function atTerminalLimit(text: string, max = TERMINAL_LINE_MAX): boolean {
  return max !== undefined && Buffer.byteLength(withoutCR(text)) >= max;
}

interface Line {
  text: string;
  /** False for a last line with no newline after it (end of a pipe, or Ctrl-D mid-line). */
  ended: boolean;
}

/**
 * Bun's `console` iterator yields one extra "" when input ends with a newline (and when Ctrl-D is
 * pressed on an empty line). That "" arrives together with the end of the stream, while a real
 * empty line is followed by more input or by an end that comes later. So each line is held back
 * for one turn of the event loop: an "" followed at once by the end was not a line, and any
 * other line followed at once by the end had no newline.
 */
export async function* lines(input: AsyncIterable<string>): AsyncGenerator<Line> {
  const it = input[Symbol.asyncIterator]();
  let next = await it.next();
  while (!next.done) {
    const text = next.value;
    const following = it.next();
    let settled: IteratorResult<string> | undefined;
    following.then((r) => (settled = r));
    await new Promise((resolve) => setImmediate(resolve));
    const last = settled?.done === true;
    if (text === "" && last) return;
    yield { text, ended: !last };
    next = await following;
  }
}
