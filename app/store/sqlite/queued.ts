/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, asc, desc, eq, isNull, or, sql, type SQL } from "drizzle-orm";
import { compareStrings } from "../../scheduler/grouping.js";
import type { GroupHead } from "../../scheduler/policy.js";
import type { Group, GroupingStrategy, QueuedJob, SchedulerConfig } from "../../scheduler/types.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { SqliteExec } from "./context.js";
import { jobs, queuePartitions, testDurations } from "./schema.js";

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

type Partition = typeof queuePartitions.$inferSelect;

/** A group as the claim ranks it, with the partitions its jobs are read from. */
export interface PartitionedGroup extends GroupHead {
  partitions: Partition[];
}

/**
 * Every group with queued jobs that match `where` (on queue_partitions' columns), from the
 * summary alone: one row per partition, however many jobs are queued. Sorted by key.
 */
export function queuedGroups(
  db: SqliteExec,
  strategy: GroupingStrategy,
  where: SQL | undefined,
): PartitionedGroup[] {
  const groups = new Map<string, PartitionedGroup>();
  for (const p of db.select().from(queuePartitions).where(where).all()) {
    const key = strategy.keyOf({
      id: "",
      testPath: "",
      expectedMs: 0,
      orgId: p.orgId,
      appVersionId: p.appVersionId,
      target: p.target,
      device: p.device,
      repo: p.repo,
      tags: p.tags,
      priority: p.priority,
      queuedAt: p.oldestQueuedAt,
    });
    const group = groups.get(key);
    if (group) {
      group.partitions.push(p);
      group.priority = Math.max(group.priority, p.priority);
      group.oldestQueuedAt = Math.min(group.oldestQueuedAt, p.oldestQueuedAt);
    } else {
      groups.set(key, {
        key,
        orgId: p.orgId,
        appVersionId: p.appVersionId,
        target: p.target,
        priority: p.priority,
        oldestQueuedAt: p.oldestQueuedAt,
        partitions: [p],
      });
    }
  }
  return [...groups.values()].sort((a, b) => compareStrings(a.key, b.key));
}

/**
 * The chosen group as the batch needs it, read through jobs_partition_queue: its total expected
 * work, and its first `limit` claimable jobs in the order a device runs them (starving first,
 * then as compareJobs sorts). A batch never holds more than maxBatchJobs, so reading that many
 * gives the batch a whole group would give, however many jobs the group has. Null when every
 * job of the group is left out by `where`.
 */
export function groupForBatch(
  db: SqliteExec,
  scheduler: SchedulerConfig,
  head: PartitionedGroup,
  where: SQL,
  starvingSince: number,
): Group | null {
  const nullable = (column: typeof jobs.device | typeof jobs.repo, value: string | null) =>
    value === null ? isNull(column) : eq(column, value);
  const inPartition = head.partitions.map((p) =>
    and(
      eq(jobs.orgId, p.orgId),
      eq(jobs.appVersionId, p.appVersionId),
      eq(jobs.target, p.target),
      nullable(jobs.device, p.device),
      nullable(jobs.repo, p.repo),
      eq(jobs.tags, p.tags),
      eq(jobs.priority, p.priority),
    ),
  );
  const claimable = and(eq(jobs.status, "queued"), or(...inPartition), where);
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
  const { partitions: _partitions, ...group } = head;
  return { ...group, jobs: first, workMs: total.workMs };
}
