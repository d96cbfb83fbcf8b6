/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, eq, isNull, or, type SQL } from "drizzle-orm";
import { compareStrings } from "../../scheduler/grouping.js";
import type { GroupHead } from "../../scheduler/policy.js";
import type {
  GroupingStrategy,
  QueuedJob,
  SchedulerConfig,
  Target,
} from "../../scheduler/types.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { SqliteExec } from "./context.js";
import { jobs, queuePartitions, testDurations } from "./schema.js";

/** Joins a job to its test file's duration history on the same target. */
export const historyOfJob = and(
  eq(testDurations.orgId, jobs.orgId),
  eq(testDurations.testPath, jobs.testPath),
  eq(testDurations.target, jobs.target),
);

export function queuedJobs(db: SqliteExec, scheduler: SchedulerConfig, where?: SQL): QueuedJob[] {
  return db
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
    .all()
    .map(({ ewmaMs, ...job }) => ({
      ...job,
      target: job.target as Target,
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
      target: p.target as Target,
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
        target: p.target as Target,
        priority: p.priority,
        oldestQueuedAt: p.oldestQueuedAt,
        partitions: [p],
      });
    }
  }
  return [...groups.values()].sort((a, b) => compareStrings(a.key, b.key));
}

/** The queued jobs of these partitions (and `where`): one group's jobs, through jobs_partition_queue. */
export function partitionJobs(
  db: SqliteExec,
  scheduler: SchedulerConfig,
  partitions: Partition[],
  where: SQL | undefined,
): QueuedJob[] {
  const nullable = (column: typeof jobs.device | typeof jobs.repo, value: string | null) =>
    value === null ? isNull(column) : eq(column, value);
  const inPartition = partitions.map((p) =>
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
  return queuedJobs(db, scheduler, and(or(...inPartition), where));
}
