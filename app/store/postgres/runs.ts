/** Runs and jobs as users see them: submit, read, list, cancel, re-run. */
import { workTopics } from "../change-feed.js";
import type { RerunFilter } from "../store.js";
import {
  and,
  desc,
  eq,
  getTableColumns,
  inArray,
  isNull,
  isNotNull,
  lt,
  sql,
  type SQL,
} from "drizzle-orm";
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
import {
  announce,
  statement,
  transaction,
  type PgContext,
  type PgExec,
  type Publish,
} from "./context.js";
import { rowsJson, rowsOf } from "./json-rows.js";
import { encoded, placeholders } from "./placeholders.js";
import { lockLeases } from "./leases.js";
import { queuedJob, submittedRunRecord } from "../submission.js";
import { jobAttempts, jobs, runs } from "./schema.js";

/**
 * A submission is one statement: the org, the run and its jobs, with no transaction (and its
 * BEGIN and COMMIT round trips) around it. The jobs ride in one jsonb parameter, so a run of
 * any size is the same statement. With an Idempotency-Key already used by the org, the run's
 * insert does nothing and neither do the jobs': that submission's run is answered instead
 * (the same body) or refused (another), as when two replicas take the same key at once.
 */
export async function submitRun(
  ctx: PgContext,
  input: SubmitRunInput,
  opts: SubmitOptions,
  now: number,
) {
  const run = submittedRunRecord(input, opts, now);
  const queued = input.tests.map((testPath) =>
    queuedJob(ctx.options.grouping, input, run.id, testPath, now),
  );
  const written = await statement(() => insertSubmission(ctx.db, input, run, opts, queued));
  if (written.length > 0) {
    announce(ctx, new Set(workTopics(queued)));
    return { run: submittedRun(run, queued), jobs: queued, replayed: false };
  }
  const prior = await priorRun(ctx.db, input.org_id, opts);
  const replayed = prior && (await getRun(ctx.db, prior, { orgId: null }));
  if (!replayed) throw new Error(`run ${run.id} was not written and no earlier run has its key`);
  return { run: replayed, jobs: replayed.jobs, replayed: true };
}

function insertSubmission(
  db: PgExec,
  input: SubmitRunInput,
  run: RunRecord,
  opts: SubmitOptions,
  queued: JobRecord[],
) {
  const row = {
    ...run,
    source: input.source,
    idempotencyKey: opts.idempotencyKey ?? null,
    requestHash: opts.requestHash ?? null,
  };
  return preparedSubmission(db).execute({
    ...encoded(runTable, pick(row, RUN_FIELDS)),
    jobs: rowsJson(jobs, queued),
  });
}

/** The submission's statement, built once per pool: building it was a third of a submit's CPU. */
const submissions = new WeakMap<PgExec, ReturnType<typeof prepareSubmission>>();
function preparedSubmission(db: PgExec) {
  let prepared = submissions.get(db);
  if (!prepared) submissions.set(db, (prepared = prepareSubmission(db)));
  return prepared;
}

const runTable = getTableColumns(runs);
const pick = <T extends object, K extends keyof T>(row: T, keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, row[k]])) as Pick<T, K>;

/** The run's columns a submission writes (the rest keep their defaults), by name. */
const RUN_FIELDS = [
  "id",
  "orgId",
  "source",
  "repo",
  "sha",
  "ref",
  "idempotencyKey",
  "requestHash",
  "createdAt",
  "bundle",
  "build",
  "failFast",
] as const;

function prepareSubmission(db: PgExec) {
  const p = sql.placeholder;
  const row = placeholders(RUN_FIELDS) as Record<(typeof RUN_FIELDS)[number], SQL>;
  return db
    .with(
      db.$with("org", {}).as(
        sql`insert into orgs (id, created_at) values (${p("orgId")}, ${p("createdAt")})
          on conflict do nothing`,
      ),
      db
        .$with("run")
        .as(db.insert(runs).values(row).onConflictDoNothing().returning({ id: runs.id })),
    )
    .insert(jobs)
    .select(sql`${rowsOf(jobs, p("jobs"))} where exists (select 1 from run)`)
    .returning({ id: jobs.id })
    .prepare("qgjob_submit");
}

/** The run an earlier submission with the same Idempotency-Key made, if any. */
async function priorRun(tx: PgExec, orgId: string, opts: SubmitOptions): Promise<string | null> {
  if (!opts.idempotencyKey) return null;
  const [prior] = await tx
    .select()
    .from(runs)
    .where(and(eq(runs.orgId, orgId), eq(runs.idempotencyKey, opts.idempotencyKey)));
  return prior ? replayOf(prior, opts.requestHash ?? null) : null;
}

const orgFilter = (column: typeof jobs.orgId | typeof runs.orgId, scope: OrgScope) =>
  scope.orgId === null ? undefined : eq(column, scope.orgId);

export async function getJob(db: PgExec, id: string, scope: OrgScope): Promise<JobRecord | null> {
  const [job] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, id), orgFilter(jobs.orgId, scope)));
  return job ?? null;
}

export async function runView(db: PgExec, run: RunRecord): Promise<RunView> {
  const rows = await db
    .select({
      status: jobs.status,
      flaky: jobs.flaky,
      quarantined: sql<boolean>`${jobs.quarantinedUntil} is not null`,
      n: sql<number>`count(*)::int`,
      finishedAt: sql<number | null>`max(${jobs.finishedAt})::float8`,
    })
    .from(jobs)
    .where(currentJobsOf(run.id))
    .groupBy(jobs.status, jobs.flaky, sql`${jobs.quarantinedUntil} is not null`);
  const { counts, finishedAt } = countJobs(rows);
  const versions = await db
    .selectDistinct({ v: jobs.appVersionId })
    .from(jobs)
    .where(eq(jobs.runId, run.id))
    .orderBy(jobs.appVersionId);
  const open = counts.queued + counts.leased + counts.running;
  return {
    ...run,
    counts,
    appVersionIds: versions.map((r) => r.v),
    finishedAt: open > 0 ? null : finishedAt,
  };
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

export async function getRun(db: PgExec, id: string, scope: OrgScope) {
  const [run] = await db
    .select(runColumns)
    .from(runs)
    .where(and(eq(runs.id, id), orgFilter(runs.orgId, scope)));
  if (!run) return null;
  const runJobs = await db.select().from(jobs).where(currentJobsOf(id)).orderBy(jobs.id);
  return { ...(await runView(db, run)), jobs: runJobs };
}

/** The jobs the given leases hold or held, e.g. what each busy agent is working on. */
export async function jobsOfLeases(db: PgExec, leaseIds: string[], scope: OrgScope) {
  if (leaseIds.length === 0) return [];
  return db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.leaseId, leaseIds), orgFilter(jobs.orgId, scope)))
    .orderBy(jobs.id);
}

export async function listJobs(db: PgExec, q: ListJobsQuery, scope: OrgScope) {
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
  const rows = await db
    .select()
    .from(jobs)
    .where(and(...where))
    .orderBy(desc(jobs.id))
    .limit(q.limit + 1);
  return page(rows, q.limit);
}

export async function listRuns(db: PgExec, q: ListRunsQuery, scope: OrgScope) {
  if (scope.orgId !== null && q.org_id !== undefined && q.org_id !== scope.orgId) {
    return { items: [], nextCursor: null };
  }
  const views: RunView[] = [];
  let cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  // The status is derived from jobs, so a status filter reads pages until it has enough matches.
  for (;;) {
    const batch = await db
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
      .limit(q.limit + 1);
    for (const run of batch) {
      const view = await runView(db, run);
      if (q.status === undefined || runStatus(view.counts) === q.status) views.push(view);
      if (views.length > q.limit) return page(views, q.limit);
    }
    if (batch.length <= q.limit) return page(views, q.limit);
    cursor = batch[batch.length - 1]!.id;
  }
}

/**
 * Ends the given jobs as cancelled: queued ones at once, leased ones too (the agent hears of it
 * on its next heartbeat). The leases of those jobs are locked first, in the order every lease
 * operation takes them (lease, then its jobs), so a cancel and a result post on the same lease
 * queue up behind each other instead of deadlocking.
 */
async function cancelJobs(tx: PgExec, where: SQL, now: number, publish: Publish) {
  const open = inArray(jobs.status, [...OPEN_STATUSES]);
  const held = await tx
    .selectDistinct({ leaseId: jobs.leaseId })
    .from(jobs)
    .where(and(where, open, isNotNull(jobs.leaseId)));
  await lockLeases(
    tx,
    held.map((h) => h.leaseId!),
  );
  const cancelled = await tx
    .update(jobs)
    .set({ status: "cancelled", finishedAt: now })
    .where(and(where, open))
    .returning({ id: jobs.id, attempts: jobs.attempts, runId: jobs.runId, leaseId: jobs.leaseId });
  for (const job of cancelled) {
    await tx
      .update(jobAttempts)
      .set({ status: "cancelled", finishedAt: now })
      .where(
        and(
          eq(jobAttempts.jobId, job.id),
          eq(jobAttempts.attempt, job.attempts),
          inArray(jobAttempts.status, [...HELD_STATUSES]),
        ),
      );
  }
  for (const runId of new Set(cancelled.map((j) => j.runId))) publish(`run:${runId}`);
}

export async function cancelJob(ctx: PgContext, id: string, scope: OrgScope, now: number) {
  const found = await transaction(ctx, async (tx, publish) => {
    const job = await getJob(tx, id, scope);
    if (!job) return false;
    if (!isTerminal(job.status)) await cancelJobs(tx, eq(jobs.id, id), now, publish);
    return true;
  });
  return found ? getJob(ctx.db, id, scope) : null;
}

export async function cancelRun(ctx: PgContext, id: string, scope: OrgScope, now: number) {
  const found = await transaction(ctx, async (tx, publish) => {
    const [run] = await tx
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.id, id), orgFilter(runs.orgId, scope)));
    if (!run) return false;
    await cancelJobs(tx, eq(jobs.runId, id), now, publish);
    publish(`run:${id}`);
    return true;
  });
  if (!found) return null;
  const run = await getRun(ctx.db, id, scope);
  return run && runView(ctx.db, run);
}

const onTargetOf = (later: Superseding) =>
  and(
    eq(jobs.target, later.target),
    later.device === null ? isNull(jobs.device) : eq(jobs.device, later.device),
  )!;

export async function supersedeEarlier(ctx: PgContext, later: Superseding, now: number) {
  return transaction(ctx, async (tx, publish) => {
    const older = (
      await tx
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
    ).map((r) => r.id);
    if (older.length === 0) return [];
    await cancelJobs(tx, and(inArray(jobs.runId, older), onTargetOf(later))!, now, publish);
    await tx.update(runs).set({ supersededBy: later.runId }).where(inArray(runs.id, older));
    for (const id of older) publish(`run:${id}`);
    return older;
  });
}

export async function rerunFailed(
  ctx: PgContext,
  id: string,
  scope: OrgScope,
  filter: RerunFilter,
  now: number,
) {
  const rerun = await transaction(ctx, async (tx, publish) => {
    // The run row lock serialises two re-runs of one run, so a failed job is re-run once.
    const [locked] = await tx
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.id, id), orgFilter(runs.orgId, scope)))
      .for("update");
    if (!locked) return null;
    const run = (await getRun(tx, id, scope))!;
    const fresh = rerunsOf(run.jobs, filter, () => newId("job", now), now);
    if (fresh.length) await tx.insert(jobs).select(rowsOf(jobs, fresh));
    for (const job of fresh) {
      await tx.update(jobs).set({ supersededBy: job.id }).where(eq(jobs.id, job.rerunOf!));
    }
    if (fresh.length > 0) {
      for (const topic of workTopics(fresh)) publish(topic);
      publish(`run:${id}`);
    }
    return fresh;
  });
  if (rerun === null) return null;
  const run = await getRun(ctx.db, id, scope);
  return run && { run, rerun };
}
