/**
 * A run's jobs counted in the five buckets every report shows (queued, running, passed, failed,
 * flaky, plus cancelled), and the one-line form of those counts.
 */
import type { Job, RunCounts } from "../api/schemas.js";
import { isQuarantined } from "../api/status.js";
import { formatClock } from "./duration.js";

/** The parts of a job the output needs (a full `Job` fits). */
export type JobView = Pick<
  Job,
  | "id"
  | "test_path"
  | "status"
  | "flaky"
  | "attempts"
  | "duration_ms"
  | "result"
  | "quarantined_until"
>;

export interface Tally {
  total: number;
  queued: number;
  /** Leased or running. */
  running: number;
  passed: number;
  /** Failed, error or timed out, and not excused by a quarantine. */
  failed: number;
  /** Failed or timed out while the test was quarantined: shown, but failing no run. */
  quarantined: number;
  flaky: number;
  cancelled: number;
}

export function tally(jobs: readonly JobView[]): Tally {
  const t: Tally = {
    total: jobs.length,
    queued: 0,
    running: 0,
    passed: 0,
    failed: 0,
    quarantined: 0,
    flaky: 0,
    cancelled: 0,
  };
  for (const job of jobs) {
    if (job.flaky) t.flaky++;
    if (isQuarantined(job)) {
      t.quarantined++;
      continue;
    }
    switch (job.status) {
      case "queued":
        t.queued++;
        break;
      case "leased":
      case "running":
        t.running++;
        break;
      case "passed":
        t.passed++;
        break;
      case "cancelled":
        t.cancelled++;
        break;
      default:
        t.failed++;
    }
  }
  return t;
}

/**
 * `3 queued · 1 running · 2 passed · 0 failed · 0 flaky`, plus quarantined and cancelled when
 * there are any.
 */
export function formatTally(t: Tally): string {
  const parts = [
    `${t.queued} queued`,
    `${t.running} running`,
    `${t.passed} passed`,
    `${t.failed} failed`,
    `${t.flaky} flaky`,
  ];
  if (t.quarantined > 0) parts.push(`${t.quarantined} quarantined`);
  if (t.cancelled > 0) parts.push(`${t.cancelled} cancelled`);
  return parts.join(" · ");
}

/** `[00:12] 3 queued · …` */
export function statusLine(t: Tally, elapsedMs: number): string {
  return `[${formatClock(elapsedMs)}] ${formatTally(t)}`;
}

/** The server's run counts in the CLI's five buckets (for answers without the jobs). */
export function tallyFromCounts(c: RunCounts): Tally {
  return {
    total: c.total,
    queued: c.queued,
    running: c.leased + c.running,
    passed: c.passed,
    failed: c.failed + c.error + c.timed_out - c.quarantined,
    quarantined: c.quarantined,
    flaky: c.flaky,
    cancelled: c.cancelled,
  };
}
