/**
 * Test history: how one finished job changes its test's summary row. Pure, so both engines fold
 * the same numbers; they read the row, call `foldTestResult` and write it back in the result's
 * transaction.
 */
import type { TestSort } from "../../api/schemas.js";
import { testOutcome, type TestOutcome } from "../../api/status.js";
import { QgjobError } from "../errors.js";
import type {
  JobRecord,
  QuarantineRecord,
  ResultOutcome,
  TestHistoryRecord,
  TestRunEntry,
} from "./store.js";

/** Outcomes kept for the last-N rates (and the dashboard's sparkline). */
export const HISTORY_WINDOW = 50;
/** Run times kept for p50 and p95. */
export const DURATION_SAMPLE = 50;
/** The newest run times the change in duration compares with the ones before them. */
export const NEWEST_DURATIONS = 10;
export const RECENT_RUNS_KEPT = 20;
export const LAST_FAILURES_KEPT = 5;
const MESSAGE_KEPT = 500;

export const OUTCOME_CODES: Record<TestOutcome, string> = {
  passed: "p",
  flaky: "k",
  failed: "f",
  error: "e",
};
const OUTCOME_OF_CODE = new Map(Object.entries(OUTCOME_CODES).map(([o, c]) => [c, o]));

/** The outcomes in a `recent` string, oldest first. */
export const outcomesOf = (recent: string): TestOutcome[] =>
  [...recent].map((c) => OUTCOME_OF_CODE.get(c) as TestOutcome);

/** True when this result ended the job (not a retry, a requeue or a repeated post). */
export const endedJob = (o: ResultOutcome): boolean =>
  !o.duplicate && !o.retry && !o.requeued && testOutcome(o.job) !== null;

/** Nearest-rank percentile of a sample (0 for none). */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return 0;
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Rates over the last outcomes that judged the test: an infrastructure error says nothing
 * about it, so it counts in neither the numerator nor the denominator.
 */
export function rates(recent: string): { flakeRate: number; failureRate: number } {
  const judged = [...recent].filter((c) => c !== OUTCOME_CODES.error);
  if (judged.length === 0) return { flakeRate: 0, failureRate: 0 };
  const share = (code: string) => judged.filter((c) => c === code).length / judged.length;
  return { flakeRate: share(OUTCOME_CODES.flaky), failureRate: share(OUTCOME_CODES.failed) };
}

/** The newest run times' median minus the median of those before them (0 until both exist). */
export function durationChange(durations: readonly number[]): number {
  const older = durations.slice(0, -NEWEST_DURATIONS);
  if (older.length < NEWEST_DURATIONS) return 0;
  return percentile(durations.slice(-NEWEST_DURATIONS), 50) - percentile(older, 50);
}

/** The key a job's history row is kept under. */
export function historyKey(job: JobRecord) {
  return { orgId: job.orgId, repo: job.repo ?? "", testPath: job.testPath, target: job.target };
}

/**
 * The test's row after `job` finished (`prior` null: the test's first run). `id` names a new
 * row. A job that did not finish (or was cancelled) leaves the row as it was.
 */
export function foldTestResult(
  prior: TestHistoryRecord | null,
  job: JobRecord,
  id: string,
  now: number,
): TestHistoryRecord | null {
  const outcome = testOutcome(job);
  if (outcome === null) return prior;
  const at = job.finishedAt ?? now;
  const row = prior ?? firstRow(id, job, at);
  const entry = runEntry(job, outcome, at);
  const recent = (row.recent + OUTCOME_CODES[outcome]).slice(-HISTORY_WINDOW);
  const durations =
    outcome === "error" || job.durationMs === null
      ? row.durations
      : [...row.durations, job.durationMs].slice(-DURATION_SAMPLE);
  const passedNow = outcome === "passed" || outcome === "flaky";
  return {
    ...row,
    runs: row.runs + 1,
    passed: row.passed + (outcome === "passed" ? 1 : 0),
    flaky: row.flaky + (outcome === "flaky" ? 1 : 0),
    failed: row.failed + (outcome === "failed" ? 1 : 0),
    errors: row.errors + (outcome === "error" ? 1 : 0),
    recent,
    durations,
    ...rates(recent),
    p50Ms: percentile(durations, 50),
    p95Ms: percentile(durations, 95),
    durationChangeMs: durationChange(durations),
    lastRunAt: Math.max(row.lastRunAt, at),
    lastPassedAt: passedNow ? at : row.lastPassedAt,
    lastFailedAt: outcome === "failed" ? at : row.lastFailedAt,
    recentRuns: [entry, ...row.recentRuns].slice(0, RECENT_RUNS_KEPT),
    lastFailures:
      outcome === "failed"
        ? [entry, ...row.lastFailures].slice(0, LAST_FAILURES_KEPT)
        : row.lastFailures,
  };
}

/** A test's row before its first run is folded in. */
function firstRow(id: string, job: JobRecord, at: number): TestHistoryRecord {
  return {
    id,
    ...historyKey(job),
    runs: 0,
    passed: 0,
    failed: 0,
    flaky: 0,
    errors: 0,
    recent: "",
    durations: [],
    flakeRate: 0,
    failureRate: 0,
    p50Ms: 0,
    p95Ms: 0,
    durationChangeMs: 0,
    firstSeenAt: at,
    lastRunAt: at,
    lastPassedAt: null,
    lastFailedAt: null,
    recentRuns: [],
    lastFailures: [],
  };
}

function runEntry(job: JobRecord, outcome: TestOutcome, at: number): TestRunEntry {
  return {
    jobId: job.id,
    runId: job.runId,
    outcome,
    finishedAt: at,
    durationMs: job.durationMs,
    message: outcome === "passed" ? null : (job.result?.message?.slice(0, MESSAGE_KEPT) ?? null),
    quarantinedUntil: job.quarantinedUntil,
  };
}

/**
 * A lease's jobs in the order its agent runs them: tests whose last run failed (or passed only on
 * a retry) and tests never seen before first, then the rest, each part in the batch's order. A
 * red run shows its red sooner, and `fail_fast` stops it sooner. `recentOf` answers the history
 * row's `recent` for a job, undefined when the test has none.
 */
export function failedFirst<T extends JobRecord>(
  jobs: T[],
  recentOf: (job: T) => string | undefined,
): T[] {
  const suspect = (job: T) => {
    const recent = recentOf(job);
    if (recent === undefined) return true;
    const last = recent.at(-1);
    return last === OUTCOME_CODES.failed || last === OUTCOME_CODES.flaky;
  };
  return [...jobs.filter(suspect), ...jobs.filter((j) => !suspect(j))];
}

/** The automatic quarantine: flake rate above `flakeRate` over the last `window` judged runs. */
export interface QuarantineRule {
  flakeRate: number;
  window: number;
  durationMs: number;
}

/**
 * The quarantine the rule puts on the test after this fold, or null: the last `window` runs
 * that judged it (infrastructure errors left out) must all be in the history, and their flake
 * rate above the threshold.
 */
export function ruleQuarantine(
  row: TestHistoryRecord,
  rule: QuarantineRule | null | undefined,
  now: number,
): QuarantineRecord | null {
  if (!rule) return null;
  const judged = [...row.recent].filter((c) => c !== OUTCOME_CODES.error).slice(-rule.window);
  if (judged.length < rule.window) return null;
  const flaky = judged.filter((c) => c === OUTCOME_CODES.flaky).length;
  if (flaky / judged.length <= rule.flakeRate) return null;
  return {
    orgId: row.orgId,
    testPath: row.testPath,
    reason: `flake rate ${Math.round((100 * flaky) / judged.length)}% over the last ${judged.length} runs (on ${row.target})`,
    owner: null,
    automatic: true,
    createdAt: now,
    expiresAt: now + rule.durationMs,
  };
}

/** The value a test list is ordered by, highest first. */
export function sortValue(row: TestHistoryRecord, sort: TestSort): number {
  switch (sort) {
    case "flake_rate":
      return row.flakeRate;
    case "failure_rate":
      return row.failureRate;
    case "duration":
      return row.p95Ms;
    case "duration_change":
      return row.durationChangeMs;
  }
}

const TEST_ID = /^tst_[0-9A-Z]{26}$/;

/** A test list's cursor: the last row's sort value and id, opaque to clients. */
export const encodeTestCursor = (value: number, id: string) =>
  Buffer.from(`${value} ${id}`, "utf8").toString("base64url");

export function decodeTestCursor(cursor: string): { value: number; id: string } {
  const [value, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split(" ");
  const number = Number(value);
  if (rest.length > 0 || !id || !TEST_ID.test(id) || value === "" || !Number.isFinite(number)) {
    throw new QgjobError("invalid_request", "cursor is not one this server handed out", {
      field: "cursor",
    });
  }
  return { value: number, id };
}

/** One page of a sorted test list, read with one row more than `limit`. */
export function testPage(rows: TestHistoryRecord[], limit: number, sort: TestSort) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor:
      rows.length > limit && last ? encodeTestCursor(sortValue(last, sort), last.id) : null,
  };
}
