/**
 * The rules of a job's life (docs/architecture.md, Job state machine), as pure functions so both engines apply the same ones.
 * Engines read the rows, ask these functions what happens, and write the answer.
 */
import type { ResultInput } from "../../api/schemas.js";
import {
  isHeld,
  isRerunStatus,
  isServerEnded,
  isTerminal,
  isTestFailedStatus,
  type RunStatus,
} from "../../api/status.js";
import { QgjobError, notFound } from "../errors.js";
import type {
  AgentError,
  DrainRule,
  JobRecord,
  JobStatus,
  LeaseHolder,
  LeaseHolderCheck,
  LeaseRecord,
  RunCounts,
  RunRecord,
  RunView,
  StoredResult,
} from "./store.js";

/**
 * A submission whose Idempotency-Key made a run before: the same body replays that run (its id
 * is answered); another body is refused, since answering with the first run would hide that.
 */
export function replayOf(
  prior: { id: string; requestHash: string | null },
  requestHash: string | null,
): string {
  if (prior.requestHash !== requestHash) {
    throw new QgjobError(
      "idempotency_mismatch",
      "this Idempotency-Key was used for a different request body",
      { run_id: prior.id },
    );
  }
  return prior.id;
}

/**
 * A lease whose agent the caller may not act for does not exist for them (404). Checked inside
 * the write's transaction, against the agent row read with the lease, so the route need not read
 * the lease and its agent first.
 */
export function requireHolder(
  leaseId: string,
  agent: LeaseHolder | null | undefined,
  holder: LeaseHolderCheck | undefined,
) {
  if (holder && (!agent || !holder(agent))) throw notFound("lease", leaseId);
}

/**
 * The job as this live lease holds it; otherwise the 409 that tells the agent why not (the
 * lease id is the fencing token). Another org's job does not exist for this lease, whatever
 * its state: 404.
 */
export function requireHeld(
  job: JobRecord | undefined,
  lease: Pick<LeaseRecord, "orgId" | "endedAt" | "expiresAt"> | undefined,
  leaseId: string,
  jobId: string,
  now: number,
): JobRecord {
  if (!job || !lease || job.orgId !== lease.orgId) throw notFound("job", jobId);
  if (job.leaseId !== leaseId) {
    throw new QgjobError("stale_lease", `job ${jobId} is no longer held by lease ${leaseId}`, {
      job_status: job.status,
    });
  }
  if (isServerEnded(job.status)) {
    throw new QgjobError("job_finished", `job ${jobId} already ended as ${job.status}`, {
      job_status: job.status,
    });
  }
  if (lease.endedAt !== null || lease.expiresAt <= now) {
    throw new QgjobError("stale_lease", `lease ${leaseId} has ended`, { job_status: job.status });
  }
  return job;
}

/**
 * Whether starting `attempt` of a held job changes anything: a repeated start is answered as
 * is; a start of another attempt, or of a job the lease already finished (which would reopen a
 * terminal state), is refused.
 */
export function decideStart(job: JobRecord, attempt: number): "start" | "already_running" {
  if (attempt !== job.attempts) {
    throw new QgjobError(
      "result_conflict",
      `the current attempt is ${job.attempts}, not ${attempt}`,
    );
  }
  if (job.status === "running") return "already_running";
  if (job.status !== "leased") {
    throw new QgjobError("job_finished", `job ${job.id} already ended as ${job.status}`, {
      job_status: job.status,
    });
  }
  return "start";
}

/** What "re-run failed" takes: a test that ended without passing and was not re-run yet. */
export const needsRerun = (job: Pick<JobRecord, "status" | "supersededBy">) =>
  isRerunStatus(job.status) && job.supersededBy === null;

/**
 * The jobs a re-run queues for these current jobs of a run: fresh tries, linked back. Those that
 * ended without passing, or (`all`, a re-run in full) every one that ended.
 */
export function rerunsOf(
  current: JobRecord[],
  filter: { target?: string | undefined; all?: boolean | undefined },
  newJobId: () => string,
  now: number,
): JobRecord[] {
  const { target, all } = filter;
  return current
    .filter(
      (j) =>
        (all ? isTerminal(j.status) && j.supersededBy === null : needsRerun(j)) &&
        (target === undefined || j.target === target),
    )
    .map((old) => ({
      ...old,
      id: newJobId(),
      status: "queued",
      flaky: false,
      attempts: 0,
      testFailures: 0,
      leaseId: null,
      agentId: null,
      avoidAgentId: null,
      requeuedAt: null,
      queuedAt: now,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      result: null,
      rerunOf: old.id,
      supersededBy: null,
      quarantinedUntil: null,
    }));
}

export interface AttemptRow {
  attempt: number;
  status: JobStatus;
  durationMs: number | null;
  result: StoredResult | null;
}

export type ResultDecision =
  /** The same result for the same attempt was recorded already: answer as before. */
  | { kind: "duplicate" }
  | { kind: "conflict"; why: string }
  /** The job ends here. */
  | { kind: "final"; status: JobStatus; flaky: boolean }
  /** A test failure with retries left: run it again in the same lease, on the same device. */
  | { kind: "retry" }
  /** An infrastructure error with attempts left: back to the queue, for another agent. */
  | { kind: "requeue" };

/** Tries spent on infrastructure: every try that did not end in a test failure. */
const infraTries = (job: JobRecord) => job.attempts - job.testFailures;

/**
 * A result posted again for an attempt already recorded is answered as before, even after the
 * lease has moved on: `{ retry }` as first answered. The same attempt reported differently, while
 * the lease still holds the job, is a conflict. null: not a repeat, decide it as a new result.
 */
export function repeatedPost(
  current: JobRecord,
  recorded: AttemptRow | undefined,
  result: ResultInput,
  leaseId: string,
): { retry: boolean } | null {
  if (!recorded || isHeld(recorded.status)) return null;
  if (decideResult(current, recorded, result).kind === "duplicate") {
    return {
      retry:
        current.leaseId === leaseId &&
        current.attempts === result.attempt + 1 &&
        isHeld(current.status),
    };
  }
  if (current.leaseId === leaseId && !isServerEnded(current.status)) {
    throw new QgjobError(
      "result_conflict",
      `attempt ${result.attempt} was already reported as ${recorded.status}`,
      { job_status: current.status },
    );
  }
  return null;
}

/** `recorded`: this lease's row for the attempt the result names, if there is one. */
export function decideResult(
  job: JobRecord,
  recorded: AttemptRow | undefined,
  result: ResultInput,
): ResultDecision {
  if (recorded && !isHeld(recorded.status)) {
    return sameResult(recorded, result)
      ? { kind: "duplicate" }
      : {
          kind: "conflict",
          why: `attempt ${result.attempt} was already reported as ${recorded.status}`,
        };
  }
  if (isTerminal(job.status)) {
    return { kind: "conflict", why: `job already ended as ${job.status}` };
  }
  if (result.attempt !== job.attempts) {
    return {
      kind: "conflict",
      why: `the current attempt is ${job.attempts}, not ${result.attempt}`,
    };
  }
  switch (result.status) {
    case "passed":
      return { kind: "final", status: "passed", flaky: job.testFailures > 0 };
    case "failed":
    case "timed_out":
      return job.testFailures < job.retries
        ? { kind: "retry" }
        : { kind: "final", status: result.status, flaky: false };
    case "error":
      return infraTries(job) < job.maxAttempts
        ? { kind: "requeue" }
        : { kind: "final", status: "error", flaky: false };
  }
}

function sameResult(recorded: AttemptRow, result: ResultInput): boolean {
  return (
    recorded.status === result.status &&
    recorded.durationMs === result.duration_ms &&
    (recorded.result?.message ?? null) === (result.message ?? null)
  );
}

/** A lease expired or was released with this job unfinished. */
export function decideLostJob(job: JobRecord): "requeue" | "error" {
  return infraTries(job) < job.maxAttempts ? "requeue" : "error";
}

/** Attachments kept per result; more are counted as dropped rather than refusing the result. */
export const MAX_ARTIFACTS = 50;

/** A job's fields after its last attempt, as `decideResult` ended it ("final"). */
export function finalFields(
  job: JobRecord,
  decision: { status: JobStatus; flaky: boolean },
  result: ResultInput,
  stored: StoredResult,
  now: number,
) {
  return {
    status: decision.status,
    flaky: decision.flaky,
    finishedAt: now,
    durationMs: result.duration_ms,
    result: stored,
    // Only a test failure is one; an infrastructure error is not the test's doing.
    testFailures:
      result.status === "failed" || result.status === "timed_out"
        ? job.testFailures + 1
        : job.testFailures,
  };
}

/** A job's fields once a failed attempt is retried: the next attempt, leased as the last was. */
export function retryFields(job: JobRecord, stored: StoredResult) {
  return {
    status: "leased" as const,
    attempts: job.attempts + 1,
    testFailures: job.testFailures + 1,
    result: stored,
  };
}

/** A claim by an agent that holds a live lease: one lease per agent at a time. */
export function leaseActive(leaseId: string): QgjobError {
  return new QgjobError("lease_active", "this agent already holds a lease: release it first", {
    lease_id: leaseId,
  });
}

export function toStoredResult(result: ResultInput): StoredResult {
  const dropped = result.artifacts.length - MAX_ARTIFACTS;
  return {
    message: result.message ?? null,
    file: result.file ?? null,
    line: result.line ?? null,
    log_tail: result.log_tail ?? null,
    artifacts: result.artifacts.slice(0, MAX_ARTIFACTS),
    ...(dropped > 0 ? { artifacts_dropped: dropped } : {}),
  };
}

export const lostResult = (why: string): StoredResult => ({
  message: why,
  file: null,
  line: null,
  artifacts: [],
});

export function emptyCounts(): RunCounts {
  return {
    total: 0,
    queued: 0,
    leased: 0,
    running: 0,
    passed: 0,
    failed: 0,
    error: 0,
    cancelled: 0,
    timed_out: 0,
    flaky: 0,
    quarantined: 0,
  };
}

/** One group of a run's jobs as the engines count them (status, flaky, quarantine mark). */
export interface CountRow {
  status: string;
  flaky: boolean;
  quarantined: boolean;
  n: number;
  finishedAt: number | null;
}

/** A run's counts and last finish from its grouped jobs (both engines read the same groups). */
export function countJobs(rows: readonly CountRow[]) {
  const counts = emptyCounts();
  let finishedAt: number | null = null;
  for (const row of rows) {
    counts[row.status as JobStatus] += row.n;
    counts.total += row.n;
    if (row.flaky) counts.flaky += row.n;
    if (row.quarantined && isTestFailedStatus(row.status)) counts.quarantined += row.n;
    if (row.finishedAt !== null) finishedAt = Math.max(finishedAt ?? 0, row.finishedAt);
  }
  return { counts, finishedAt };
}

/** A new run is exactly what was written: its view comes from that, not from reading it back. */
export function submittedRun(run: RunRecord, jobs: readonly JobRecord[]): RunView {
  const counts = emptyCounts();
  counts.queued = counts.total = jobs.length;
  const appVersionIds = [...new Set(jobs.map((j) => j.appVersionId))].sort();
  return { ...run, counts, appVersionIds, finishedAt: null };
}

/** A run's status is derived from its jobs', never stored, so it cannot drift from them. */
export function runStatus(c: RunCounts): RunStatus {
  const open = c.queued + c.leased + c.running;
  if (open > 0) return open === c.queued && c.total === c.queued ? "queued" : "running";
  if (c.failed + c.error + c.timed_out - c.quarantined > 0) return "failed";
  if (c.cancelled > 0) return "cancelled";
  return "passed";
}

/**
 * The run time the scheduler learns from a result: what the agent reports, but never more than
 * the server saw pass between the job's start and its result. An agent cannot make a 0.2 s test
 * look like a week of work (and distort every later batch of it).
 */
export function observedDurationMs(reportedMs: number, startedAt: number | null, now: number) {
  if (startedAt === null) return Math.max(0, reportedMs);
  return Math.max(0, Math.min(reportedMs, now - startedAt));
}

/** Messages kept per error: enough to tell an install failure from a dead device. */
const AGENT_ERROR_MESSAGE_CHARS = 500;
/** Errors kept on an agent when no drain rule counts them: the dashboard's "last errors". */
const AGENT_ERRORS_KEPT = 5;

/**
 * An agent's state after it reported an infrastructure error: the error joins its recent ones
 * (those older than the window, and more than the rule counts, drop off), and once the rule's
 * count of them falls within its window the agent is drained. A drained agent stays drained
 * until undrained: errors from leases it still held do not change when it was drained.
 */
export function noteAgentError(
  agent: { drainedAt: number | null; recentErrors: AgentError[] },
  error: AgentError,
  rule: DrainRule | null | undefined,
): { drainedAt: number | null; recentErrors: AgentError[] } {
  const kept = Math.max(rule?.errors ?? 0, AGENT_ERRORS_KEPT);
  const message = error.message?.slice(0, AGENT_ERROR_MESSAGE_CHARS) ?? null;
  const all = [...agent.recentErrors, { ...error, message }];
  if (agent.drainedAt !== null)
    return { drainedAt: agent.drainedAt, recentErrors: all.slice(-kept) };
  const recentErrors = all.filter((e) => !rule || e.at > error.at - rule.windowMs).slice(-kept);
  const drained = rule !== null && rule !== undefined && recentErrors.length >= rule.errors;
  return { drainedAt: drained ? error.at : null, recentErrors };
}
