/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, asc, desc, eq, isNull, or, sql, type SQL } from "drizzle-orm";
import type { Group, QueuedJob, SchedulerConfig } from "../../scheduler/types.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { StoredHead } from "../heads.js";
import type { SqliteExec } from "./context.js";
import { jobs, testDurations } from "./schema.js";

/** Joins a job to its test file's duration history on the same target. */
export const historyOfJob = and(
  eq(testDurations.orgId, jobs.orgId),
  eq(testDurations.testPath, jobs.testPath),
  eq(testDurations.target, jobs.target),
);

export function queuedJobs(
  db: SqliteExec,
  scheduler: SchedulerConfig,
  where?: SQL,
  first?: { orderBy: SQL[]; limit: number },
): QueuedJob[] {
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
    })
    .from(jobs)
    .leftJoin(testDurations, historyOfJob)
    .where(and(eq(jobs.status, "queued"), where))
    .$dynamic();
  const rows = first
    ? query
        .orderBy(...first.orderBy)
        .limit(first.limit)
        .all()
    : query.all();
  return rows.map(({ ewmaMs, ...job }) => ({
    ...job,
    target: job.target,
    expectedMs: expectedDuration(ewmaMs, scheduler),
  }));
}

/**
 * The chosen group as the batch needs it, read through jobs_group_queue: its total expected
 * work, and its first `limit` claimable jobs in the order a device runs them (starving first,
 * then as compareJobs sorts). A batch never holds more than maxBatchJobs, so reading that many
 * gives the batch a whole group would give, however many jobs the group has. Null when every
 * job of the group is left out by `where`.
 */
export function groupForBatch(
  db: SqliteExec,
  scheduler: SchedulerConfig,
  head: StoredHead,
  device: string | null,
  where: SQL,
  starvingSince: number,
): Group | null {
  const claimable = and(
    eq(jobs.status, "queued"),
    eq(jobs.groupKey, head.storedKey),
    device === null ? isNull(jobs.device) : or(isNull(jobs.device), eq(jobs.device, device)),
    where,
  );
  const expected = sql<number>`coalesce(${testDurations.ewmaMs}, ${scheduler.defaultTestMs})`;
  const total = db
    .select({ workMs: sql<number | null>`sum(${expected})` })
    .from(jobs)
    .leftJoin(testDurations, historyOfJob)
    .where(claimable)
    .get();
  if (total?.workMs == null) return null;
  const first = queuedJobs(db, scheduler, claimable, {
    orderBy: [
      desc(sql`${jobs.queuedAt} <= ${starvingSince}`),
      desc(jobs.priority),
      desc(expected),
      asc(jobs.queuedAt),
      asc(jobs.id),
    ],
    limit: scheduler.maxBatchJobs,
  });
  const { storedKey: _storedKey, ...group } = head;
  return { ...group, jobs: first, workMs: total.workMs };
}
