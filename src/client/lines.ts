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
