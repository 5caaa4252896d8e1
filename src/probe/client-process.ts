/**
 * probe --client's view of the client under test: a process started as `sh -c CMD` in a process
 * group of its own, its output kept (bounded), and whatever it started ended with it.
 */
import { dlopen, FFIType } from "bun:ffi";
import { existsSync, readdirSync, readFileSync } from "node:fs";

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

/** How long the probe tries to end what the client left running before it says what is left. */
export const END_ORPHANS_MS = 2000;

/**
 * Ends every process under this one (the client's orphans, adopted above, and all they started),
 * even one that forks and exits to change its PID: each one found is frozen (SIGSTOP), with its
 * process group when that group is of the client's making, so that it starts nothing more; a
 * frozen one is killed on the next walk of the tree, which then also finds what it had started.
 * Returns the PIDs still running after `ms` (none, unless something resists SIGKILL or outruns
 * the walk).
 */
export async function endOrphans(ms = END_ORPHANS_MS): Promise<number[]> {
  const deadline = performance.now() + ms;
  const own = statOf(process.pid);
  let zombies = -1;
  let seen: number[] = [];
  for (;;) {
    const tree = descendants(process.pid);
    // One walk can miss a process that forked and exited while it read: the one that exited
    // stays a zombie (nobody reaps it), so two walks alike, with nothing running, are the end.
    if (tree.running.length === 0 && tree.zombies === zombies) return [];
    zombies = tree.zombies;
    if (tree.running.length > 0) seen = tree.running.map((p) => p.pid);
    // Out of time: what the last walks found running, even if this one missed it.
    if (performance.now() >= deadline) return seen;
    for (const p of tree.running) {
      // A group (and session) of the client's making holds only what it started: one signal
      // reaches all of it at once, even a child being forked at that moment.
      const group = p.sid !== own?.sid && p.pgid > 1 ? -p.pgid : undefined;
      const signal = /^[Tt]/.test(p.state) ? "SIGKILL" : "SIGSTOP";
      for (const target of group === undefined ? [p.pid] : [group, p.pid]) {
        try {
          process.kill(target, signal);
        } catch {
          // Gone already.
        }
      }
    }
    await Bun.sleep(1);
  }
}

interface Stat {
  pid: number;
  state: string;
  pgid: number;
  sid: number;
}

function statOf(pid: number): Stat | undefined {
  try {
    // After the command's closing parenthesis: state, the parent's pid, the group, the session.
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [state = "", , pgid, sid] = text.slice(text.lastIndexOf(") ") + 2).split(" ");
    return { pid, state, pgid: Number(pgid), sid: Number(sid) };
  } catch {
    return undefined;
  }
}

/**
 * The whole tree under `root`: what runs, and how many zombies. Each process's state is read
 * before its children: one seen frozen then has all its children listed (it forks no more).
 */
function descendants(root: number): { running: Stat[]; zombies: number } {
  const running: Stat[] = [];
  let zombies = 0;
  const seen = new Set([root]);
  const byParent = childrenFiles() ? undefined : parentsMap();
  for (let i = -1; i < running.length; i++) {
    const parent = i < 0 ? root : running[i]!.pid;
    for (const child of byParent ? (byParent.get(parent) ?? []) : childrenOf(parent)) {
      if (seen.has(child)) continue;
      seen.add(child);
      const stat = statOf(child);
      if (stat?.state === "Z") zombies++;
      else if (stat) running.push(stat);
    }
  }
  return { running, zombies };
}

/** Linux lists each thread's children in /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN). */
let hasChildrenFiles: boolean | undefined;
function childrenFiles(): boolean {
  hasChildrenFiles ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  return hasChildrenFiles;
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        return text === "" ? [] : text.split(" ").map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** Without children files: every process's parent, from one walk of /proc. */
function parentsMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return map;
  }
  for (const d of entries) {
    try {
      const text = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(text.slice(text.lastIndexOf(") ") + 2).split(" ")[1]);
      map.set(ppid, [...(map.get(ppid) ?? []), Number(d)]);
    } catch {
      // Gone meanwhile.
    }
  }
  return map;
}

/** The client's process: its group killed on the way out, whatever it started. */
export class ClientProcess {
  readonly proc;
  /** Its stdout so far, decoded as it comes (a character cut between reads is kept whole). */
  private outText = "";
  private outBytes = 0;
  private outKept = 0;
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
        if (this.outBytes < MAX_KEPT) {
          this.outText += this.decoder.decode(chunk, { stream: true });
          this.outKept += chunk.length;
        }
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

  /** Its stdout so far: what is kept (the first MAX_KEPT bytes). */
  get output(): string {
    return this.outText;
  }

  /** How many bytes it printed on stdout, kept or not. */
  get printed(): number {
    return this.outBytes;
  }

  /** It printed more than is kept: what `output` lacks, the probe never saw. */
  get outputCut(): boolean {
    return this.outBytes > this.outKept;
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
