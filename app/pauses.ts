/**
 * Notices time the server process did not run: a SIGSTOP, a frozen VM, an event loop blocked
 * by a long synchronous task. Heartbeats sent meanwhile wait unanswered in the socket backlog,
 * so on waking every lease would look expired. The gap is measured between a fast timer's ticks
 * and every read of the server's clock (now()), and live leases are extended by it. Until that
 * extension has committed (at once on SQLite, a round trip on Postgres), now() answers the time
 * as if the pause had not happened: a request in flight across the pause, or held in the
 * backlog, is never judged against an expiry the extension is about to move.
 */
import type { Logger } from "pino";
import type { Store } from "./store/store.js";

export interface PauseWatchOptions {
  tickMs: number;
  /** A gap beyond one tick smaller than this is ordinary scheduling noise. */
  thresholdMs: number;
  clock: () => number;
  logger: Logger;
}

export class PauseWatch {
  /** All the time found missing since the start (ms). */
  missedMs = 0;
  private last: number;
  /** Gaps found whose extension has not committed yet. */
  private pendingMs = 0;
  private extending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly opts: PauseWatchOptions,
  ) {
    this.last = opts.clock();
    this.timer = setInterval(() => void this.check(), opts.tickMs);
    this.timer.unref();
  }

  /** The server's clock: the time, less any pause whose extension is still on its way. */
  now(): number {
    const now = this.opts.clock();
    this.notice(now);
    return now - this.pendingMs;
  }

  /** Resolves once every gap found so far is added to the leases. */
  check(): Promise<void> {
    this.notice(this.opts.clock());
    return this.extending;
  }

  private notice(now: number) {
    const missed = now - this.last - this.opts.tickMs;
    this.last = Math.max(this.last, now);
    if (missed <= this.opts.thresholdMs) return;
    this.missedMs += missed;
    this.pendingMs += missed;
    this.extending = this.extending.then(() =>
      this.extend(missed).finally(() => (this.pendingMs -= missed)),
    );
  }

  stop() {
    clearInterval(this.timer);
  }

  private async extend(missedMs: number) {
    try {
      const leases = await this.store.extendLiveLeases(missedMs, this.opts.clock());
      // At start-up (module loading, migrations) there is nothing to extend: not worth a warning.
      this.opts.logger[leases > 0 ? "warn" : "debug"](
        { missedMs: Math.round(missedMs), leases },
        "the server was not running: live leases extended by the time it missed",
      );
    } catch (err) {
      // The reaper finds the same gap in its own ticks and extends once the store answers.
      this.opts.logger.error({ err }, "could not extend leases after a pause");
    }
  }
}
