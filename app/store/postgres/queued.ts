/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, asc, desc, eq, isNull, or, sql, type SQL } from "drizzle-orm";
import type { Group, QueuedJob, SchedulerConfig } from "../../scheduler/types.js";
import type { StoredHead } from "../heads.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { PgExec } from "./context.js";
import { jobs, testDurations } from "./schema.js";

/** Joins a job to its test file's duration history on the same target. */
export const historyOfJob = and(
  eq(testDurations.orgId, jobs.orgId),
  eq(testDurations.testPath, jobs.testPath),
  eq(testDurations.target, jobs.target),
);

export async function queuedJobs(
  db: PgExec,
  scheduler: SchedulerConfig,
  where: SQL | undefined,
  first?: { orderBy: SQL[]; limit: number; lock: boolean },
): Promise<QueuedJob[]> {
  const rows = await queuedRows(db, where, first, sql<null>`null`);
  return rows.map((row) => queuedJob(row, scheduler));
}

/** The queued jobs' rows, each with `also` (an expression over no row of its own). */
function queuedRows<T>(
  db: PgExec,
  where: SQL | undefined,
  first: { orderBy: SQL[]; limit: number; lock: boolean } | undefined,
  also: SQL<T>,
) {
  const query = db
    .select({
      id: jobs.id,
      orgId: jobs.orgId,
      appVersionId: jobs.appVersionId,
      target: jobs.target,
      device: jobs.device,
      repo: jobs.repo,
      tags: jobs.tags,
      testPath: jobs.testPath,
      priority: jobs.priority,
      queuedAt: jobs.queuedAt,
      ewmaMs: testDurations.ewmaMs,
      also,
    })
    .from(jobs)
    .leftJoin(testDurations, historyOfJob)
    .where(and(eq(jobs.status, "queued"), where))
    .$dynamic();
  const ordered = first && query.orderBy(...first.orderBy).limit(first.limit);
  return ordered && first.lock
    ? ordered.for("update", { of: jobs, skipLocked: true })
    : (ordered ?? query);
}

function queuedJob(
  { ewmaMs, also: _also, ...job }: Awaited<ReturnType<typeof queuedRows>>[number],
  scheduler: SchedulerConfig,
): QueuedJob {
  return { ...job, expectedMs: expectedDuration(ewmaMs, scheduler) };
}

/**
 * The chosen group as the batch needs it (see the SQLite engine's groupForBatch). With `lock`
 * (a claim) its first jobs are read FOR UPDATE SKIP LOCKED: jobs another claim is taking right
 * now are passed over, and the rest are this transaction's until it commits. Null when no job
 * of the group is left to take.
 */
export async function groupForBatch(
  db: PgExec,
  scheduler: SchedulerConfig,
  head: StoredHead,
  device: string | null,
  where: SQL,
  starvingSince: number,
  lock: boolean,
): Promise<Group | null> {
  const claimable = and(
    eq(jobs.status, "queued"),
    eq(jobs.groupKey, head.storedKey),
    device === null ? isNull(jobs.device) : or(isNull(jobs.device), eq(jobs.device, device)),
    where,
  );
  const expected = sql<number>`coalesce(${testDurations.ewmaMs}, ${scheduler.defaultTestMs})`;
  // The group's whole work rides on the batch's read: a subquery whose own FROM hides the outer
  // one's tables refers to none of its rows, so Postgres computes it once.
  const workMs = sql<number>`(select sum(${expected})::float8 from ${jobs}
    left join ${testDurations} on ${historyOfJob} where ${claimable})`;
  const rows = await queuedRows(
    db,
    claimable,
    {
      orderBy: [
        desc(sql`${jobs.queuedAt} <= ${starvingSince}`),
        desc(jobs.priority),
        desc(expected),
        asc(jobs.queuedAt),
        asc(jobs.id),
      ],
      limit: scheduler.maxBatchJobs,
      lock,
    },
    workMs,
  );
  if (rows.length === 0) return null;
  const { storedKey: _storedKey, ...group } = head;
  return { ...group, jobs: rows.map((row) => queuedJob(row, scheduler)), workMs: rows[0]!.also };
}
