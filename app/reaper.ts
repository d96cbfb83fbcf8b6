/**
 * The reaper: on its own timer, settles leases whose agent went silent, jobs far past their
 * timeout, and leases whose agent starts nothing (app/store/stall-sql.ts).
 *
 * A lease is reaped only for an agent silent while the server listened. Time the process did
 * not run is app/pauses.ts's to add to the leases; the reaper waits for it before each pass.
 * Time the store could not be written (a full disk, a lost database) is the reaper's own: each
 * pass measures the time since the last pass that reached the store, and extends live leases by
 * whatever exceeds the interval and was not a pause. On several replicas a paused one extends
 * everyone's leases too: reaping a dead agent waits that much longer, the safe direction.
 */
import type { Logger } from "pino";
import type { PauseWatch } from "./pauses.js";
import type { Store } from "./store/store.js";

export interface ReaperOptions {
  intervalMs: number;
  /** A lease whose agent started and finished nothing for this long gives its jobs back. */
  leaseStartMs: number;
  clock: () => number;
  logger: Logger;
  onRequeued?: (jobs: number) => void;
}

export interface Reaper {
  /** One pass now (tests, and each timer tick). */
  tick(): Promise<void>;
  stop(): void;
}

export function startReaper(store: Store, pauses: PauseWatch, opts: ReaperOptions): Reaper {
  const { clock, logger, intervalMs } = opts;
  let lastReached: number | null = null;
  let pausedBefore = pauses.missedMs;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;

  async function pass() {
    await pauses.check();
    const now = clock();
    const paused = pauses.missedMs;
    // Beyond one interval of lateness, less the pauses already added: the store was away.
    const missed =
      lastReached === null ? 0 : now - lastReached - intervalMs - (paused - pausedBefore);
    if (missed > Math.max(intervalMs, 1000)) {
      const extended = await store.extendLiveLeases(missed, now);
      logger.warn(
        { missedMs: Math.round(missed), leases: extended },
        "the store could not be reached: live leases extended by that time",
      );
    }
    const report = await store.reapExpired(now);
    const unstarted = await store.reapUnstarted(now - opts.leaseStartMs, now);
    lastReached = now;
    pausedBefore = paused;
    if (report.expiredLeases + report.timedOut > 0) logger.info(report, "reaped expired leases");
    if (unstarted > 0) logger.warn({ leases: unstarted }, "leases that started nothing ended");
    opts.onRequeued?.(report.requeued);
  }

  function tick(): Promise<void> {
    running ??= pass()
      .catch((err: unknown) => logger.error({ err }, "reaper failed"))
      .finally(() => (running = null));
    return running;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick().finally(schedule), intervalMs);
    timer.unref();
  };
  schedule();

  return {
    tick,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
