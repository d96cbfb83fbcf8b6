/**
 * The status vocabulary of jobs, runs and attempts: every status and every set of them the
 * server, the engines, the CLI, the Action and the App ask about is defined here, once.
 */

export const JOB_STATUSES = [
  "queued",
  "leased",
  "running",
  "passed",
  "failed",
  "error",
  "cancelled",
  "timed_out",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const RUN_STATUSES = ["queued", "running", "passed", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** What an agent may report for one attempt of a job. `error` is an infrastructure failure. */
export const RESULT_STATUSES = ["passed", "failed", "timed_out", "error"] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/** What a finished job says about its test, in test history: `flaky` passed after a failed try,
 * `error` is the infrastructure's failure, not the test's. A cancelled job says nothing. */
export const TEST_OUTCOMES = ["passed", "flaky", "failed", "error"] as const;
export type TestOutcome = (typeof TEST_OUTCOMES)[number];

/** A job in one of these never changes again. */
export const TERMINAL_STATUSES = ["passed", "failed", "error", "cancelled", "timed_out"] as const;
/** Ended without passing, and not by a cancel: what makes a run fail. */
export const FAILED_STATUSES = ["failed", "error", "timed_out"] as const;
/** The test's own failures (an infrastructure `error` is not one): what a quarantine excuses. */
export const TEST_FAILED_STATUSES = ["failed", "timed_out"] as const;
/** Held by a lease: an agent has it (an attempt row is open while a job is in one of these). */
export const HELD_STATUSES = ["leased", "running"] as const;
/** Not ended yet: queued or held. */
export const OPEN_STATUSES = ["queued", ...HELD_STATUSES] as const;
/** Ended by the server (cancel, timeout) while an agent may still be running it. */
export const SERVER_ENDED_STATUSES = ["cancelled", "timed_out"] as const;
/** Ended without passing: what "re-run failed" takes again. */
export const RERUN_STATUSES = [...FAILED_STATUSES, "cancelled"] as const;

const has =
  (set: readonly string[]) =>
  (status: string): boolean =>
    set.includes(status);

export const isTerminal = has(TERMINAL_STATUSES);
export const isFailedStatus = has(FAILED_STATUSES);
export const isHeld = has(HELD_STATUSES);
export const isOpen = has(OPEN_STATUSES);
export const isServerEnded = has(SERVER_ENDED_STATUSES);
export const isRerunStatus = has(RERUN_STATUSES);
export const isTestFailedStatus = has(TEST_FAILED_STATUSES);
/** A job in one of these ended with the result an agent reported. */
export const isResultStatus = has(RESULT_STATUSES);

/** A run is open while any of its jobs is. */
export const isRunOpen = (status: string): boolean => status === "queued" || status === "running";

/** For lists of jobs or job views: `jobs.filter(isFailed)`. */
export const isFailed = (job: { status: string }) => isFailedStatus(job.status);
/**
 * A test failure while the test was quarantined: shown as "quarantined: failed", but it fails
 * no run. The mark is the job's own (set as its result was recorded), so a later change to the
 * quarantine never changes the verdict of a run that already ended.
 */
export const isQuarantined = (job: { status: string; quarantined_until: string | null }) =>
  job.quarantined_until !== null && isTestFailedStatus(job.status);
/** What fails a run's verdict: a failure that no quarantine excuses. */
export const failsRun = (job: { status: string; quarantined_until: string | null }) =>
  isFailed(job) && !isQuarantined(job);
export const isFinished = (job: { status: string }) => isTerminal(job.status);

/** What a finished job says about its test; null for a job that did not finish or was cancelled. */
export function testOutcome(job: { status: string; flaky: boolean }): TestOutcome | null {
  switch (job.status) {
    case "passed":
      return job.flaky ? "flaky" : "passed";
    case "failed":
    case "timed_out":
      return "failed";
    case "error":
      return "error";
    default:
      return null;
  }
}
