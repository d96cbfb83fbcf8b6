/** Queued jobs as the scheduler sees them, each with its expected duration. */
import { and, eq, type SQL } from "drizzle-orm";
import type { Group, QueuedJob, SchedulerConfig } from "../../scheduler/types.js";
import { expectedDuration } from "../../scheduler/usage.js";
import type { StoredHead } from "../heads.js";
import { claimQueries, historyOfJob, queuedJobColumns } from "./claim-queries.js";
import type { SqliteContext, SqliteExec } from "./context.js";
import { jobs, testDurations } from "./schema.js";

export function queuedJobs(db: SqliteExec, scheduler: SchedulerConfig, where?: SQL): QueuedJob[] {
  const rows = db
    .select(queuedJobColumns)
    .from(jobs)
    .leftJoin(testDurations, historyOfJob)
    .where(and(eq(jobs.status, "queued"), where))
    .all();
  return rows.map((row) => expectedOf(row, scheduler));
}

function expectedOf<T extends { ewmaMs: number | null }>(
  { ewmaMs, ...job }: T,
  scheduler: SchedulerConfig,
) {
  return { ...job, expectedMs: expectedDuration(ewmaMs, scheduler) };
}

/**
 * The chosen group as the batch needs it, read through jobs_group_queue: its total expected
 * work, and its first `maxBatchJobs` jobs this agent may take, in the order a device runs them.
 * A batch never holds more than that, so reading that many gives the batch a whole group would
 * give, however many jobs the group has. Null when every job of the group is left out for this
 * agent (claim-queries.ts `claimable`).
 */
export function groupForBatch(
  ctx: SqliteContext,
  head: StoredHead,
  claimant: { agentId: string; device: string | null; avoidSince: number; starvingSince: number },
): Group | null {
  const q = claimQueries(ctx);
  const { scheduler } = ctx.options;
  const where = { groupKey: head.storedKey, ...claimant };
  const total = q.groupWork.get(where);
  if (total?.workMs == null) return null;
  const first = q.groupFirst.all({ ...where, limit: scheduler.maxBatchJobs });
  const { storedKey: _storedKey, ...group } = head;
  return { ...group, jobs: first.map((row) => expectedOf(row, scheduler)), workMs: total.workMs };
}
