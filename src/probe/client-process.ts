/**
 * probe --client's view of the client under test: a process started as `sh -c CMD` in a process
 * group of its own, its output kept (bounded), and whatever it started ended with it.
 */
import { dlopen, FFIType } from "bun:ffi";
import { readdirSync, readFileSync } from "node:fs";

/** What is kept of the client's stdout, and of what it sends: far more than the lab needs. */
export const MAX_KEPT = 1 << 20;

/**
 * What the client starts and leaves behind (a daemon, one that moved to a session of its own
 * with setsid) becomes this process's child when its parent dies, not init's (Linux's child
 * subreaper), so that `endOrphans` finds it.
 */
function adoptOrphans(): void {
  try {
    const libc = dlopen("libc.so.6", {
      prctl: { args: [FFIType.i32, FFIType.u64], returns: FFIType.i32 },
    });
    libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1);
  } catch {
    // Not Linux: the process group is all there is to end.
  }
}
const PR_SET_CHILD_SUBREAPER = 36;

/** Ends every child of this process left running (the client's orphans, adopted above). */
export async function endOrphans(): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const orphans = childrenOf(process.pid);
    if (orphans.length === 0) return;
    for (const pid of orphans) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await Bun.sleep(20); // their own children come to us next
  }
}

function childrenOf(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  return entries.flatMap((d) => {
    try {
      // After the command's closing parenthesis: state, then the parent's pid.
      const [, after = ""] = readFileSync(`/proc/${d}/stat`, "utf8").split(") ");
      const [state, ppid] = after.split(" ");
      return Number(ppid) === parent && state !== "Z" ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/** The client's process: its group killed on the way out, whatever it started. */
export class ClientProcess {
  readonly proc;
  /** Its stdout so far, decoded as it comes (a character cut between reads is kept whole). */
  private outText = "";
  private outBytes = 0;
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // a BOM it printed is kept
  private errTail = "";
  killed = false;
  killedAt = Infinity;
  readonly done: Promise<void>;

  constructor(command: string, port: number) {
    adoptOrphans();
    this.proc = Bun.spawn(["sh", "-c", command.replaceAll("{port}", String(port))], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ECHO_PORT: String(port) },
      detached: true, // a process group of its own: one kill ends all it started
    });
    this.done = Promise.all([
      this.pump(this.proc.stdout, (chunk) => {
        if (this.outBytes < MAX_KEPT) this.outText += this.decoder.decode(chunk, { stream: true });
        this.outBytes += chunk.length;
      }),
      this.pump(this.proc.stderr, (chunk) => {
        this.errTail = (this.errTail + Buffer.from(chunk).toString("utf8")).slice(-2000);
      }),
    ]).then(() => undefined);
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  get output(): string {
    return this.outText;
  }

  /**
   * Its last words on stderr: a Python traceback's last line, say. Node's, Bun's and Java's put
   * the stack (and the runtime's version) after the error: those lines are not its words.
   */
  get lastError(): string {
    const words = this.errTail
      .split("\n")
      .map((line) => line.trimEnd())
      .filter((line) => line !== "" && !/^\s+at\s|^(Node\.js|Bun) v\d/.test(line));
    return words.at(-1)?.trim() ?? "";
  }

  type(text: string): void {
    try {
      this.proc.stdin.write(text);
      this.proc.stdin.flush();
    } catch {
      // It exited: what it did is graded from what it sent and printed.
    }
  }

  endInput(): void {
    try {
      this.proc.stdin.end();
    } catch {
      // Already gone.
    }
  }

  kill(): void {
    if (this.exited) return;
    this.killed = true;
    this.killedAt = performance.now();
    try {
      process.kill(-this.proc.pid, "SIGKILL");
    } catch {
      this.proc.kill("SIGKILL");
    }
  }

  private async pump(stream: ReadableStream<Uint8Array>, take: (chunk: Uint8Array) => void) {
    try {
      for await (const chunk of stream) take(chunk);
    } catch {
      // The pipe broke with the process: what came is kept.
    }
  }
}
