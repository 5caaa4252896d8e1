/** The user's input, line by line, as the client treats it. */

/** The stop word: the whole line, ignoring surrounding spaces and a trailing CR. */
export const STOP_WORD = "fim";

export function isStopWord(line: string): boolean {
  return line.trim() === STOP_WORD;
}

/** A line from CRLF input keeps its CR in Bun's iterator; the CR is not part of the message. */
export function withoutCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * Bun's `console` iterator yields one extra "" when input ends with a newline (and when Ctrl-D is
 * pressed on an empty line). That "" arrives together with the end of the stream, while a real
 * empty line is followed by more input or by an end that comes later. So an empty line is held
 * back for one turn of the event loop: if the stream has ended by then, it was not a line.
 */
export async function* lines(input: AsyncIterable<string>): AsyncGenerator<string> {
  const it = input[Symbol.asyncIterator]();
  let next = await it.next();
  while (!next.done) {
    const line = next.value;
    const following = it.next();
    if (line === "") {
      let settled: IteratorResult<string> | undefined;
      following.then((r) => (settled = r));
      await new Promise((resolve) => setImmediate(resolve));
      if (settled?.done) return;
    }
    yield line;
    next = await following;
  }
}
