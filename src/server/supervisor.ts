/**
 * --workers N: this process listens on nothing itself; it runs N copies of the program, which
 * share the port, and watches over them (features/workers.ts). Returns the exit status.
 */
import type { ServerSettings } from "../cli/options.ts";
import { formatAddress } from "../common/text.ts";
import { addUp, exposition } from "./features/http/metrics.ts";
import { processFigures } from "./features/http/observe.ts";
import { type Role, restartsExposition, reusePortWorks, supervise } from "./features/workers.ts";
import { capOf, sayListenFailed } from "./listen.ts";
import type { Voice } from "./state.ts";
import { saySummary } from "./stopping.ts";

/** How many processes serve: --workers, or 1 where this kernel cannot share a port (said once). */
export function workerCount(settings: ServerSettings, role: Role, { say, t }: Voice): number {
  const { workers, host } = settings;
  if (workers === 1 || !role.alone || reusePortWorks(host)) return workers;
  say.warn("noReusePort", {}, t.noReusePort);
  return 1;
}

interface SupervisorParts {
  count: number;
  startedAt: number; // performance.now() at the start
  startTime: number; // seconds since the epoch at the start, for the metrics
  announce: (port: number) => void;
  /** The side port, if any (a port it cannot have ends the program: the entry point's call). */
  serveHttp: (ready: () => boolean, metrics: () => string | Promise<string>) => void;
}

/**
 * A reload's lines: when it starts, and when every worker has been replaced (or could not be).
 * Shown at every --log-level, as the listening line: an operator asked for it.
 */
function reloadLines({ say, t }: Voice) {
  return {
    started: (count: number) =>
      say.event("reloading", { workers: count }, () => t.reloading(count), "always"),
    done: (count: number) =>
      say.event("reloaded", { workers: count }, () => t.reloaded(count), "always"),
    queued: () => say.event("reloadQueued", {}, t.reloadQueued, "always"),
    failed: (k: number, replaced: number) =>
      say.error("reloadFailed", { child: k, replaced }, () => t.reloadFailed(k, replaced)),
  };
}

export async function runSupervisor(
  settings: ServerSettings,
  voice: Voice,
  parts: SupervisorParts,
): Promise<number> {
  const { say, t } = voice;
  const { host } = settings;
  // The workers share their port with SO_REUSEPORT, which would let them join a listener that
  // set it too (another echo with --workers): the port must be free first, as without --workers.
  if (settings.port !== 0) {
    try {
      Bun.listen({ hostname: host, port: settings.port, socket: { data() {} } }).stop(true);
    } catch (error) {
      await sayListenFailed(settings, voice, error, false);
      return 1;
    }
  }
  return supervise({
    count: parts.count,
    perWorker: capOf(settings),
    port: settings.port,
    listening: parts.announce,
    stopping: () => say.belowCaret(),
    // `worker` on a line names the worker that wrote it: the supervisor's own are about a child.
    died: (k, pid, code, signal) =>
      say.warn(
        "workerDied",
        { child: k, child_pid: pid, code: code ?? undefined, signal: signal ?? undefined },
        () => t.workerDied(k, pid, t.exitedWith(code, signal)),
      ),
    failing: (k) => say.error("workerFailing", { child: k }, () => t.workerFailing(k)),
    hung: (k, pid, secs) =>
      say.warn("workerHung", { child: k, child_pid: pid, seconds: secs }, () =>
        t.workerHung(k, pid, secs),
      ),
    restarted: (k, pid) =>
      say.event("workerRestarted", { child: k, child_pid: pid }, () => t.workerRestarted(k, pid)),
    shared: (port) =>
      say.error("portShared", { host, port }, () => t.portShared(formatAddress(host, port))),
    // On a terminal SIGHUP keeps its meaning, the terminal is gone: stop. Off one (a service
    // manager, a container, nohup), it is the usual "reload": replace the workers one by one.
    reload: process.stdin.isTTY || process.stdout.isTTY ? undefined : reloadLines(voice),
    render: (f) => exposition(f, parts.startTime, false),
    // Read from the workers' shared files: no request to them, nothing to wait for. The
    // parent's own CPU, memory and descriptors count too: it is part of the target.
    serving: (figures, restarts, ready) => {
      const metrics = () =>
        exposition(addUp([figures(), processFigures()]), parts.startTime, settings.udp) +
        restartsExposition(restarts());
      parts.serveHttp(ready, metrics);
    },
    summary: (all, code) => {
      if (all.connections > 0 || code === 0) saySummary(voice, all, parts.startedAt);
    },
  });
}
