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

/** A job in one of these never changes again. */
export const TERMINAL_STATUSES = ["passed", "failed", "error", "cancelled", "timed_out"] as const;
/** Ended without passing, and not by a cancel: what makes a run fail. */
export const FAILED_STATUSES = ["failed", "error", "timed_out"] as const;
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
/** A job in one of these ended with the result an agent reported. */
export const isResultStatus = has(RESULT_STATUSES);

/** A run is open while any of its jobs is. */
export const isRunOpen = (status: string): boolean => status === "queued" || status === "running";

/** For lists of jobs or job views: `jobs.filter(isFailed)`. */
export const isFailed = (job: { status: string }) => isFailedStatus(job.status);
export const isFinished = (job: { status: string }) => isTerminal(job.status);
