/** Runs and jobs as users see them: submit, read, list, cancel. */
import { workTopics } from "../change-feed.js";
import type { RerunFilter } from "../store.js";
import { and, desc, eq, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { ListJobsQuery, ListRunsQuery, SubmitRunInput } from "../../../api/schemas.js";
import { newId } from "../../ids.js";
import { decodeCursor, page } from "../cursor.js";
import { isTerminal, OPEN_STATUSES, HELD_STATUSES } from "../../../api/status.js";
import { countJobs, replayOf, rerunsOf, runStatus, submittedRun } from "../rules.js";
import type {
  JobRecord,
  OrgScope,
  RunRecord,
  RunView,
  SubmitOptions,
  Superseding,
} from "../store.js";
import type { SqliteContext } from "./context.js";
import { jobAttempts, jobs, runs } from "./schema.js";
import { queuedJob, submittedRunRecord } from "../submission.js";

export function submitRun(
  ctx: SqliteContext,
  input: SubmitRunInput,
  opts: SubmitOptions,
  now: number,
): { run: RunView; jobs: JobRecord[]; replayed: boolean } {
  const outcome = ctx.db.transaction(
    (tx): { replayedRunId: string } | { run: RunRecord; jobs: JobRecord[] } => {
      if (opts.idempotencyKey) {
        const prior = tx
          .select()
          .from(runs)
          .where(and(eq(runs.orgId, input.org_id), eq(runs.idempotencyKey, opts.idempotencyKey)))
          .get();
        if (prior) return { replayedRunId: replayOf(prior, opts.requestHash ?? null) };
      }
      const run = submittedRunRecord(input, opts, now);
      const queued = input.tests.map((testPath) =>
        queuedJob(ctx.options.grouping, input, run.id, testPath, now),
      );
      insertSubmission(ctx, run, opts, queued);
      return { run, jobs: queued };
    },
    { behavior: "immediate" },
  );
  if ("replayedRunId" in outcome) {
    const run = getRun(ctx, outcome.replayedRunId, { orgId: null });
    if (!run) throw new Error(`run ${outcome.replayedRunId} vanished after commit`);
    return { run, jobs: run.jobs, replayed: true };
  }
  for (const topic of workTopics(outcome.jobs)) ctx.feed.publish(topic);
  return { run: submittedRun(outcome.run, outcome.jobs), jobs: outcome.jobs, replayed: false };
}

/**
 * The writes of a submission, as statements prepared once (better-sqlite3 caches them by
 * text, see database.ts): building the SQL anew was most of a small submission's cost.
 */
function insertSubmission(
  ctx: SqliteContext,
  run: RunRecord,
  opts: SubmitOptions,
  queued: JobRecord[],
) {
  ctx.raw
    .prepare("insert into orgs (id, created_at) values (?, ?) on conflict do nothing")
    .run(run.orgId, run.createdAt);
  ctx.raw
    .prepare(
      `insert into runs (id, org_id, source, repo, sha, ref, idempotency_key, request_hash,
         created_at, bundle, build, fail_fast)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      run.id,
      run.orgId,
      run.source,
      run.repo,
      run.sha,
      run.ref,
      opts.idempotencyKey ?? null,
      opts.requestHash ?? null,
      run.createdAt,
      run.bundle && JSON.stringify(run.bundle),
      run.build && JSON.stringify(run.build),
      run.failFast,
    );
  const insertJob = ctx.raw.prepare(
    `insert into jobs (id, run_id, org_id, app_version_id, target, device, repo, test_path, tags,
       priority, status, flaky, attempts, max_attempts, retries, test_failures, timeout_s,
       queued_at, created_at, group_key)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, ?, ?, 0, ?, ?, ?, ?)`,
  );
  // Every job of a run shares its tags: encode them once.
  const tags = JSON.stringify(queued[0]?.tags ?? []);
  for (const j of queued) {
    insertJob.run(
      j.id,
      j.runId,
      j.orgId,
      j.appVersionId,
      j.target,
      j.device,
      j.repo,
      j.testPath,
      tags,
      j.priority,
      j.maxAttempts,
      j.retries,
      j.timeoutS,
      j.queuedAt,
      j.createdAt,
      j.groupKey,
    );
  }
}

const orgFilter = (column: typeof jobs.orgId | typeof runs.orgId, scope: OrgScope) =>
  scope.orgId === null ? undefined : eq(column, scope.orgId);

export function getJob(ctx: SqliteContext, id: string, scope: OrgScope): JobRecord | null {
  return (
    ctx.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.id, id), orgFilter(jobs.orgId, scope)))
      .get() ?? null
  );
}

export function runView(ctx: SqliteContext, run: RunRecord): RunView {
  const rows = ctx.db
    .select({
      status: jobs.status,
      flaky: jobs.flaky,
      quarantined: sql<number>`${jobs.quarantinedUntil} is not null`,
      n: sql<number>`count(*)`,
      finishedAt: sql<number | null>`max(${jobs.finishedAt})`,
    })
    .from(jobs)
    .where(currentJobsOf(run.id))
    .groupBy(jobs.status, jobs.flaky, sql`${jobs.quarantinedUntil} is not null`)
    .all();
  const { counts, finishedAt } = countJobs(
    rows.map((r) => ({ ...r, quarantined: r.quarantined === 1 })),
  );
  const versions = ctx.db
    .selectDistinct({ v: jobs.appVersionId })
    .from(jobs)
    .where(eq(jobs.runId, run.id))
    .all()
    .map((r) => r.v);
  const open = counts.queued + counts.leased + counts.running;
  return { ...run, counts, appVersionIds: versions, finishedAt: open > 0 ? null : finishedAt };
}

/** A run is made of its current jobs: a re-run job stands in for the one it superseded. */
export const currentJobsOf = (runId: string) =>
  and(eq(jobs.runId, runId), isNull(jobs.supersededBy));

export const runColumns = {
  id: runs.id,
  orgId: runs.orgId,
  source: runs.source,
  repo: runs.repo,
  sha: runs.sha,
  ref: runs.ref,
  createdAt: runs.createdAt,
  bundle: runs.bundle,
  build: runs.build,
  failFast: runs.failFast,
  supersededBy: runs.supersededBy,
};

export function getRun(ctx: SqliteContext, id: string, scope: OrgScope) {
  const run = ctx.db
    .select(runColumns)
    .from(runs)
    .where(and(eq(runs.id, id), orgFilter(runs.orgId, scope)))
    .get();
  if (!run) return null;
  const runJobs = ctx.db.select().from(jobs).where(currentJobsOf(id)).orderBy(jobs.id).all();
  return { ...runView(ctx, run), jobs: runJobs };
}

/** The jobs the given leases hold or held, e.g. what each busy agent is working on. */
export function jobsOfLeases(ctx: SqliteContext, leaseIds: string[], scope: OrgScope) {
  if (leaseIds.length === 0) return [];
  return ctx.db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.leaseId, leaseIds), orgFilter(jobs.orgId, scope)))
    .orderBy(jobs.id)
    .all();
}

export function listJobs(ctx: SqliteContext, q: ListJobsQuery, scope: OrgScope) {
  if (scope.orgId !== null && q.org_id !== undefined && q.org_id !== scope.orgId) {
    return { items: [], nextCursor: null };
  }
  const where: (SQL | undefined)[] = [
    orgFilter(jobs.orgId, scope),
    q.org_id === undefined ? undefined : eq(jobs.orgId, q.org_id),
    q.run_id === undefined ? undefined : eq(jobs.runId, q.run_id),
    q.status === undefined ? undefined : eq(jobs.status, q.status),
    q.app_version_id === undefined ? undefined : eq(jobs.appVersionId, q.app_version_id),
    q.target === undefined ? undefined : eq(jobs.target, q.target),
    q.cursor === undefined ? undefined : lt(jobs.id, decodeCursor(q.cursor)),
  ];
  const rows = ctx.db
    .select()
    .from(jobs)
    .where(and(...where))
    .orderBy(desc(jobs.id))
    .limit(q.limit + 1)
    .all();
  return page(rows, q.limit);
}

export function listRuns(ctx: SqliteContext, q: ListRunsQuery, scope: OrgScope) {
  if (scope.orgId !== null && q.org_id !== undefined && q.org_id !== scope.orgId) {
    return { items: [], nextCursor: null };
  }
  const views: RunView[] = [];
  let cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  // The status is derived from jobs, so a status filter reads pages until it has enough matches.
  for (;;) {
    const batch = ctx.db
      .select(runColumns)
      .from(runs)
      .where(
        and(
          orgFilter(runs.orgId, scope),
          q.org_id === undefined ? undefined : eq(runs.orgId, q.org_id),
          q.app_version_id === undefined
            ? undefined
            : sql`exists (select 1 from ${jobs} where ${jobs.runId} = ${runs.id} and ${jobs.appVersionId} = ${q.app_version_id})`,
          cursor === undefined ? undefined : lt(runs.id, cursor),
        ),
      )
      .orderBy(desc(runs.id))
      .limit(q.limit + 1)
      .all();
    for (const run of batch) {
      const view = runView(ctx, run);
      if (q.status === undefined || runStatus(view.counts) === q.status) views.push(view);
      if (views.length > q.limit) return page(views, q.limit);
    }
    if (batch.length <= q.limit) return page(views, q.limit);
    cursor = batch[batch.length - 1]!.id;
  }
}

/** Ends the given jobs as cancelled: queued ones at once, leased ones too (the agent hears of it
 * and stops the test; its lease stays open until it releases it, once the test's processes are
 * gone, so the agent shows busy meanwhile). Terminal jobs are left as they are. */
function cancelJobs(ctx: SqliteContext, where: SQL, now: number): string[] {
  const cancelled = ctx.db
    .update(jobs)
    .set({ status: "cancelled", finishedAt: now })
    .where(and(where, inArray(jobs.status, [...OPEN_STATUSES])))
    .returning({ id: jobs.id, attempts: jobs.attempts, runId: jobs.runId, leaseId: jobs.leaseId })
    .all();
  for (const job of cancelled) {
    ctx.db
      .update(jobAttempts)
      .set({ status: "cancelled", finishedAt: now })
      .where(
        and(
          eq(jobAttempts.jobId, job.id),
          eq(jobAttempts.attempt, job.attempts),
          inArray(jobAttempts.status, [...HELD_STATUSES]),
        ),
      )
      .run();
  }
  return [...new Set(cancelled.map((j) => j.runId))];
}

export function cancelJob(ctx: SqliteContext, id: string, scope: OrgScope, now: number) {
  const touched = ctx.db.transaction(
    (tx) => {
      const job = getJob({ ...ctx, db: tx }, id, scope);
      if (!job) return null;
      return isTerminal(job.status) ? [] : cancelJobs({ ...ctx, db: tx }, eq(jobs.id, id), now);
    },
    { behavior: "immediate" },
  );
  if (touched === null) return null;
  for (const runId of touched) ctx.feed.publish(`run:${runId}`);
  return getJob(ctx, id, scope);
}

export function cancelRun(ctx: SqliteContext, id: string, scope: OrgScope, now: number) {
  const found = ctx.db.transaction(
    (tx) => {
      const run = tx
        .select({ id: runs.id })
        .from(runs)
        .where(and(eq(runs.id, id), orgFilter(runs.orgId, scope)))
        .get();
      if (!run) return false;
      cancelJobs({ ...ctx, db: tx }, eq(jobs.runId, id), now);
      return true;
    },
    { behavior: "immediate" },
  );
  if (!found) return null;
  ctx.feed.publish(`run:${id}`);
  const run = getRun(ctx, id, scope);
  return run && runView(ctx, run);
}

/** The jobs on the superseding run's target and device. */
const onTargetOf = (later: Superseding) =>
  and(
    eq(jobs.target, later.target),
    later.device === null ? isNull(jobs.device) : eq(jobs.device, later.device),
  )!;

export function supersedeEarlier(ctx: SqliteContext, later: Superseding, now: number) {
  const superseded = ctx.db.transaction(
    (tx) => {
      const older = tx
        .selectDistinct({ id: runs.id })
        .from(runs)
        .innerJoin(jobs, eq(jobs.runId, runs.id))
        .where(
          and(
            eq(runs.orgId, later.orgId),
            eq(runs.repo, later.repo),
            eq(runs.ref, later.ref),
            lt(runs.id, later.runId),
            inArray(jobs.status, [...OPEN_STATUSES]),
            onTargetOf(later),
          ),
        )
        .all()
        .map((r) => r.id);
      if (older.length === 0) return [];
      cancelJobs({ ...ctx, db: tx }, and(inArray(jobs.runId, older), onTargetOf(later))!, now);
      tx.update(runs).set({ supersededBy: later.runId }).where(inArray(runs.id, older)).run();
      return older;
    },
    { behavior: "immediate" },
  );
  for (const id of superseded) ctx.feed.publish(`run:${id}`);
  return superseded;
}

// SQLite caps bound parameters per statement; 29 columns x 500 rows stays well inside it.
const INSERT_CHUNK = 500;

export function rerunFailed(
  ctx: SqliteContext,
  id: string,
  scope: OrgScope,
  filter: RerunFilter,
  now: number,
) {
  const rerun = ctx.db.transaction(
    (tx) => {
      const run = getRun({ ...ctx, db: tx }, id, scope);
      if (!run) return null;
      const fresh = rerunsOf(run.jobs, filter, () => newId("job", now), now);
      for (let i = 0; i < fresh.length; i += INSERT_CHUNK) {
        tx.insert(jobs)
          .values(fresh.slice(i, i + INSERT_CHUNK))
          .run();
      }
      for (const job of fresh) {
        tx.update(jobs).set({ supersededBy: job.id }).where(eq(jobs.id, job.rerunOf!)).run();
      }
      return fresh;
    },
    { behavior: "immediate" },
  );
  if (rerun === null) return null;
  if (rerun.length > 0) {
    for (const topic of workTopics(rerun)) ctx.feed.publish(topic);
    ctx.feed.publish(`run:${id}`);
  }
  const run = getRun(ctx, id, scope);
  return run && { run, rerun };
}
