/**
 * A start or a result on Postgres in two statements and no transaction: the lease and job are
 * read without a lock and decided on by the same rules as the locked path (rules.ts), then one
 * statement writes everything, guarded by what the decision read. Its guard locks the lease,
 * then the job (and the test's history row), in the order of leases.ts's locking discipline,
 * and holds only if they are still as read; otherwise the statement writes nothing and the
 * caller runs the locked transaction, which reads and decides again.
 *
 * Why: each statement is a round trip, and the locked path spends four (a start) or six (a
 * result), BEGIN and COMMIT among them. A refusal decided on the unlocked read is one the locked
 * path would have given for a request arriving at the moment of the read: a lease, job or
 * attempt never goes back to a state that would have been accepted.
 */
import { and, eq, getTableColumns, sql, type Placeholder, type SQL } from "drizzle-orm";
import type { ResultInput } from "../../../api/schemas.js";
import { testOutcome } from "../../../api/status.js";
import { foldTestResult, ruleQuarantine } from "../history.js";
import {
  decideResult,
  decideStart,
  finalFields,
  observedDurationMs,
  repeatedPost,
  requireHeld,
  requireHolder,
  toStoredResult,
} from "../rules.js";
import type {
  JobRecord,
  LeaseHolderCheck,
  ResultOutcome,
  StoredResult,
  TestHistoryRecord,
} from "../store.js";
import { notFound } from "../../errors.js";
import { announce, sqlState, unavailableIfLost, type PgContext, type PgExec } from "./context.js";
import { leaseAndJob, type Value } from "./lease-reads.js";
import { encoded, placeholders } from "./placeholders.js";
import { durationUpserts, leaseCompletion } from "./report-writes.js";
import { jobs, testHistory } from "./schema.js";

/** The guard as read: the job's state, and the history row's run count when it is folded. */
interface Expected {
  leaseId: Value<string>;
  jobId: Value<string>;
  status: Value<string>;
  attempts: Value<number>;
  now: Value<number>;
  history?: { id: Value<string>; runs: Value<number> };
}

/**
 * A row when the lease is live and the job is as read, both then locked (lease first); with
 * `history`, that row too, unchanged since it was read (every fold adds a run).
 */
function guardOf({ leaseId, jobId, status, attempts, now, history }: Expected) {
  const withHistory = history
    ? sql`, test_history h where h.id = ${history.id} and h.runs = ${history.runs} and`
    : sql` where`;
  return sql`select 1 from leases l, jobs j${withHistory}
    l.id = ${leaseId} and l.ended_at is null and l.expires_at > ${now}
    and j.id = ${jobId} and j.lease_id = ${leaseId} and j.status = ${status}
    and j.attempts = ${attempts}
    for update of l, j${history ? sql`, h` : sql``}`;
}

const GUARD_HELD = sql`exists (select 1 from guard)`;

/** Runs the guarded write: null when the guard did not hold or the database chose it to lose. */
async function guarded(write: () => Promise<JobRecord[]>): Promise<JobRecord | null> {
  try {
    return (await write())[0] ?? null;
  } catch (err) {
    // A deadlock or serialization failure rolled the statement back: the locked path retries.
    if (sqlState(err) === "40P01" || sqlState(err) === "40001") return null;
    return unavailableIfLost(err);
  }
}

/**
 * Starts the job: the started job, or null when the caller must run the locked start. Throws
 * the refusals the read already decides.
 */
export async function guardedStart(
  ctx: PgContext,
  leaseId: string,
  jobId: string,
  attempt: number,
  now: number,
  holder: LeaseHolderCheck | undefined,
): Promise<JobRecord | null> {
  const read = await leaseAndJob(ctx.db, leaseId, jobId, attempt, now, false).catch(
    unavailableIfLost,
  );
  requireHolder(leaseId, read.holder, holder);
  const job = requireHeld(read.job, read.lease, leaseId, jobId, now);
  if (decideStart(job, attempt) === "already_running") return job;
  const started = await guarded(() =>
    preparedStart(ctx.db).execute({ leaseId, jobId, attempt, now }),
  );
  if (started) announce(ctx, new Set([`run:${job.runId}`]));
  return started;
}

/** The start's write, built once per pool, as the read is (lease-reads.ts). */
const starts = new WeakMap<PgExec, ReturnType<typeof prepareStart>>();
function preparedStart(db: PgExec) {
  let start = starts.get(db);
  if (!start) starts.set(db, (start = prepareStart(db)));
  return start;
}

function prepareStart(db: PgExec) {
  const [leaseId, jobId, attempt, now] = ["leaseId", "jobId", "attempt", "now"].map((name) =>
    sql.placeholder(name),
  ) as [Placeholder, Placeholder, Placeholder, Placeholder];
  const expected = { leaseId, jobId, status: "leased", attempts: attempt, now };
  return db
    .with(
      db.$with("guard", {}).as(guardOf(expected)),
      db.$with("attempt", {}).as(
        sql`update job_attempts set status = 'running', started_at = ${now}
          where job_id = ${jobId} and attempt = ${attempt} and status = 'leased' and ${GUARD_HELD}`,
      ),
    )
    .update(jobs)
    .set({ status: "running", startedAt: sql`${now}` })
    .where(and(eq(jobs.id, jobId), GUARD_HELD))
    .returning()
    .prepare("qgjob_start");
}

/**
 * Records a result that ends the job (passed, failed or timed out with no retry left): the
 * outcome, or null when the caller must run the locked path. That path also takes what this one
 * leaves to it: repeated posts, retries, infrastructure errors (they count against the agent),
 * a test's first run and an automatic quarantine. Throws the refusals the read already decides.
 */
export async function guardedResult(
  ctx: PgContext,
  leaseId: string,
  jobId: string,
  result: ResultInput,
  now: number,
  holder: LeaseHolderCheck | undefined,
): Promise<ResultOutcome | null> {
  if (result.status === "error") return null;
  const read = await leaseAndJob(ctx.db, leaseId, jobId, result.attempt, now, false).catch(
    unavailableIfLost,
  );
  requireHolder(leaseId, read.holder, holder);
  const { lease, job: current, attempt: recorded, history, quarantinedUntil } = read;
  if (!current || current.orgId !== lease?.orgId) throw notFound("job", jobId);
  if (!history || repeatedPost(current, recorded, result, leaseId)) return null;
  const job = requireHeld(current, lease, leaseId, jobId, now);
  const decision = decideResult(job, recorded, result);
  if (decision.kind !== "final") return null;
  const stored = toStoredResult(result);
  const fields = { ...finalFields(job, decision, result, stored, now), quarantinedUntil };
  const folded = foldTestResult(history, { ...job, ...fields }, history.id, now);
  if (!folded || testOutcome({ ...job, ...fields }) === null) return null;
  if (quarantinedUntil === null && ruleQuarantine(folded, ctx.options.quarantineRule, now)) {
    return null;
  }
  const finished = await guarded(() =>
    finishWrite(ctx, { leaseId, job, result, stored, now }, fields, history, folded),
  );
  if (!finished) return null;
  announce(ctx, new Set([`run:${job.runId}`]));
  return { job: finished, retry: false, duplicate: false, requeued: false };
}

/** The result's write, built once per pool as the start's is. */
const finishes = new WeakMap<PgExec, ReturnType<typeof prepareFinish>>();
function preparedFinish(ctx: PgContext) {
  let finish = finishes.get(ctx.db);
  if (!finish) finishes.set(ctx.db, (finish = prepareFinish(ctx)));
  return finish;
}

/** The job's fields a result writes: rules.ts `finalFields`, and the quarantine read with it. */
const FINAL_FIELDS = [
  "status",
  "flaky",
  "finishedAt",
  "durationMs",
  "result",
  "testFailures",
  "quarantinedUntil",
] as const;
const jobColumns = getTableColumns(jobs);
const historyColumns = getTableColumns(testHistory);

/**
 * The result's one statement: the job's final fields, and as CTEs its attempt, the lease's
 * completion, the folded history row and the duration and usage upserts, all behind the guard.
 */
function prepareFinish(ctx: PgContext) {
  const { db } = ctx;
  const p = sql.placeholder;
  const [leaseId, jobId, now] = [p("leaseId"), p("jobId"), p("now")];
  const expected: Expected = {
    leaseId,
    jobId,
    status: p("heldStatus"),
    attempts: p("attempts"),
    now,
    history: { id: p("historyId"), runs: p("historyRuns") },
  };
  const writes: SQL[] = [
    sql`update job_attempts set status = ${p("attemptStatus")}, finished_at = ${now},
      duration_ms = ${p("durationMs")}, result = ${p("stored")}::jsonb
      where job_id = ${jobId} and attempt = ${p("attempt")} and ${GUARD_HELD}`,
    leaseCompletion(leaseId, now, jobId, GUARD_HELD),
    db
      .update(testHistory)
      .set(placeholders(Object.keys(historyColumns), "h_"))
      .where(and(eq(testHistory.id, p("historyId")), GUARD_HELD))
      .getSQL(),
    ...durationUpserts(
      ctx,
      { orgId: p("orgId"), testPath: p("testPath"), target: p("target") },
      { ms: p("ms"), now },
      GUARD_HELD,
    ),
  ];
  return db
    .with(
      db.$with("guard", {}).as(guardOf(expected)),
      ...writes.map((write, i) => db.$with(`w${i}`, {}).as(write)),
    )
    .update(jobs)
    .set(placeholders(FINAL_FIELDS, "j_"))
    .where(and(eq(jobs.id, jobId), GUARD_HELD))
    .returning()
    .prepare("qgjob_finish");
}

function finishWrite(
  ctx: PgContext,
  reported: {
    leaseId: string;
    job: JobRecord;
    result: ResultInput;
    stored: StoredResult;
    now: number;
  },
  fields: Pick<JobRecord, (typeof FINAL_FIELDS)[number]>,
  history: TestHistoryRecord,
  folded: TestHistoryRecord,
) {
  const { leaseId, job, result, stored, now } = reported;
  return preparedFinish(ctx).execute({
    leaseId,
    jobId: job.id,
    now,
    heldStatus: job.status,
    attempts: job.attempts,
    historyId: history.id,
    historyRuns: history.runs,
    attemptStatus: result.status,
    durationMs: result.duration_ms,
    stored: JSON.stringify(stored),
    attempt: result.attempt,
    orgId: job.orgId,
    testPath: job.testPath,
    target: job.target,
    ms: observedDurationMs(result.duration_ms, job.startedAt, now),
    ...encoded(historyColumns, folded, "h_"),
    ...encoded(jobColumns, fields, "j_"),
  });
}
