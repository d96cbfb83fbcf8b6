/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, asc, desc, eq, sql, type SQL } from "drizzle-orm";
import type { QueuedJob, SchedulerConfig } from "../../scheduler/types.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { PgExec } from "./context.js";
import { jobs, testDurations } from "./schema.js";

/** Joins a job to its test file's duration history on the same target. */
export const historyOfJob = and(
  eq(testDurations.orgId, jobs.orgId),
  eq(testDurations.testPath, jobs.testPath),
  eq(testDurations.target, jobs.target),
);

/**
 * At most this many queued jobs are read for one decision. The window takes the jobs the
 * scheduler would rank first anyway (starving, then higher priority, then oldest), so a huge
 * backlog costs each claim a bounded read; groups past the window wait until the head drains.
 */
export const DECISION_WINDOW = 5000;

export async function queuedJobs(
  db: PgExec,
  scheduler: SchedulerConfig,
  where: SQL | undefined,
  window: { now: number; limit: number } | null,
): Promise<QueuedJob[]> {
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
    .where(and(eq(jobs.status, "queued"), where));
  const rows = window
    ? await query
        .orderBy(
          desc(sql`${jobs.queuedAt} <= ${window.now - scheduler.starvationMs}`),
          desc(jobs.priority),
          asc(jobs.queuedAt),
          asc(jobs.id),
        )
        .limit(window.limit)
    : await query;
  return rows.map(({ ewmaMs, ...job }) => ({
    ...job,
    target: job.target,
    expectedMs: expectedDuration(ewmaMs, scheduler),
  }));
}
