/** The lines a child writes on one stream, with a way to wait for one of them. */

/** The lines a child writes on one stream, with a way to wait for one of them. */
export class Lines {
  readonly all: string[] = [];
  readonly closed: Promise<void>;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private ended = false;
  /** What came after the last newline: a prompt, say. */
  partial = "";
  /** Everything that came, exactly as it came: newlines, CRs, escapes (a terminal's screen). */
  raw = "";
  private onChunk: (() => void)[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.closed = this.pump(stream);
  }

  get text(): string {
    return this.all.join("\n");
  }

  /** Resolves with the first line (already seen or still to come) that matches. */
  waitFor(pattern: RegExp | string): Promise<string> {
    const test = (line: string) =>
      typeof pattern === "string" ? line.includes(pattern) : pattern.test(line);
    const seen = this.all.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.ended)
      return Promise.reject(new Error(`never printed ${pattern}; got:\n${this.text}`));
    return new Promise((resolve, reject) => {
      this.waiters.push({ test, resolve });
      this.closed.then(() => reject(new Error(`never printed ${pattern}; got:\n${this.text}`)));
    });
  }

  /** Resolves once the unfinished last line ends with `text` (a prompt waiting for input). */
  async prompts(text: string): Promise<void> {
    while (!this.partial.endsWith(text)) {
      if (this.ended) throw new Error(`never prompted ${text}; got:\n${this.text}`);
      await new Promise<void>((resolve) => this.onChunk.push(resolve));
    }
  }

  /** Resolves once `text` has come `times` times in all (a terminal showing it). */
  async shows(text: string, times = 1): Promise<void> {
    while (this.raw.split(text).length - 1 < times) {
      if (this.ended)
        throw new Error(`never showed ${JSON.stringify(text)} ×${times}; got:\n${this.raw}`);
      await new Promise<void>((resolve) => this.onChunk.push(resolve));
    }
  }

  /** Number of lines so far that match. */
  count(pattern: RegExp): number {
    return this.all.filter((line) => pattern.test(line)).length;
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      this.raw += text;
      rest += text;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.add(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
      this.partial = rest;
      for (const wake of this.onChunk.splice(0)) wake();
    }
    if (rest !== "") this.add(rest);
    this.ended = true;
    for (const wake of this.onChunk.splice(0)) wake();
  }

  private add(line: string): void {
    this.all.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }
}
