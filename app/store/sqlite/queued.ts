/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, eq, type SQL } from "drizzle-orm";
import type { QueuedJob, SchedulerConfig, Target } from "../../scheduler/types.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { SqliteExec } from "./context.js";
import { jobs, testDurations } from "./schema.js";

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
