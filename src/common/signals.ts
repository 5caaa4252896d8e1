/**
 * Stop signals, each seen once. A Ctrl-C in a terminal sends SIGINT to every process of the
 * foreground group, and `bun run` (and `npx`) forward it to their child as well: the server
 * receives the one key press twice, within a millisecond (measured: 0.05-0.7 ms). A second copy
 * of the same signal that soon is that echo, not the user asking again.
 *
 * SIGHUP (the terminal closed, the SSH session ended) stops the server gracefully, as SIGTERM;
 * unless `hangUp` is given: the --workers supervisor off a terminal reloads on it (a service
 * manager's reload, `systemctl reload`), and each one counts (a second asks for one more).
 */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Same signal again within this long: the forwarded copy of one press. */
export const DUPLICATE_WITHIN_MS = 500;

export function onStopSignal(stop: (signal: StopSignal) => void, hangUp?: () => void): void {
  const last = new Map<StopSignal, number>();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (signal === "SIGHUP" && hangUp) return hangUp();
      const now = performance.now();
      const before = last.get(signal);
      last.set(signal, now);
      if (before !== undefined && now - before < DUPLICATE_WITHIN_MS) return;
      stop(signal);
    });
  }
}

/** The conventional exit status of a process ended by this signal (128 + its number). */
export const forcedStatus = (signal: StopSignal) =>
  signal === "SIGINT" ? 130 : signal === "SIGHUP" ? 129 : 143;

/**
 * The status of a stop whose drain cut a connection (silent for --drain-idle, or still open at
 * --drain-timeout): the stop worked, but someone's echo may have been cut short. EX_TEMPFAIL
 * of sysexits.h, next to 70 (EX_SOFTWARE): those clients may try again elsewhere.
 */
export const DRAIN_CUT_STATUS = 75;
