/**
 * Leases on Postgres: how agents take work, keep it, report it and give it back (docs/architecture.md, Leases),
 * safe with several server replicas on one database.
 *
 * Locking discipline, the same in every operation so concurrent ones wait rather than deadlock:
 * a lease row is locked before the jobs it holds. Operations on one lease (start, result,
 * heartbeat, release, cancel, reaping) therefore run one after another whichever replica
 * serves them; claims touch only queued jobs, which no lease holds.
 */
import { workTopics } from "../change-feed.js";
import { HELD_STATUSES, SERVER_ENDED_STATUSES, type JobStatus } from "../../../api/status.js";
import { and, asc, eq, getTableColumns, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { ResultInput } from "../../../api/schemas.js";
import { endedJob } from "../history.js";
import { orderByHistory, recordTestHistory } from "./history.js";
import { QgjobError, notFound } from "../../errors.js";
import { newId } from "../../ids.js";
import { chooseGroup, decideBatch } from "../../scheduler/policy.js";
import type { Decision, SchedulingInput } from "../../scheduler/types.js";
import {
  fleetView,
  staleSeenAt,
  usageView,
  type FleetCountRow,
  type OrgUsageRow,
} from "../fleet.js";
import {
  candidateRows,
  headsOf,
  runPlanAsync,
  type HeadQuery,
  type HeadReads,
  type HeadRow,
} from "../heads.js";
import {
  noteAgentError,
  decideStart,
  repeatedPost,
  requireHeld,
  requireHolder,
  decideLostJob,
  decideResult,
  finalFields,
  leaseActive,
  lostResult,
  retryFields,
  toStoredResult,
} from "../rules.js";
import type {
  JobRecord,
  LeaseGrant,
  LeaseHolderCheck,
  LeaseRecord,
  ReapReport,
  ResultOutcome,
  StoredResult,
} from "../store.js";
import {
  ctes,
  inOneStatement,
  transaction,
  type PgContext,
  type PgExec,
  type Publish,
} from "./context.js";
import { boundedHeads, headReads, headsAnd } from "./heads.js";
import { guardedResult, guardedStart } from "./guarded-reports.js";
import { leaseAndJob, type LeaseAndJob } from "./lease-reads.js";
import { durationWrites, leaseCompletion } from "./report-writes.js";
import { splitRunInputs } from "../run-inputs.js";
import { runInputsOfJob } from "./run-inputs.js";
import { groupForBatch } from "./queued.js";
import { agents, jobAttempts, jobs, leases } from "./schema.js";

const OPEN_JOB = [...HELD_STATUSES];
const INSTALLED_KEPT = 20;

/** Locks the given leases, in id order (the one order every transaction uses). */
export async function lockLeases(tx: PgExec, ids: string[]) {
  if (ids.length === 0) return;
  await tx
    .select({ id: leases.id })
    .from(leases)
    .where(inArray(leases.id, ids))
    .orderBy(asc(leases.id))
    .for("update");
}

async function lockedLease(tx: PgExec, leaseId: string): Promise<LeaseRecord | undefined> {
  const [lease] = await tx.select().from(leases).where(eq(leases.id, leaseId)).for("update");
  return lease;
}

/**
 * Rewrites the agent's `last_seen_at` once it is stale (fleet.ts `staleSeenAt`), so most polls
 * and heartbeats of a live agent write nothing.
 */
function seenWrite(ctx: PgContext, agentId: string, now: number) {
  return sql`update agents set last_seen_at = ${now}
    where id = ${agentId} and last_seen_at <= ${staleSeenAt(now, ctx.options.leaseTtlMs)}`;
}

async function touchAgent(ctx: PgContext, agentId: string, now: number) {
  const [agent] = await ctx.db
    .with(...ctes(ctx.db, [seenWrite(ctx, agentId, now)]))
    .select({ id: agents.id })
    .from(agents)
    .where(eq(agents.id, agentId));
  if (!agent) throw notFound("agent", agentId);
}

/** A job that just failed on this agent for infrastructure reasons tries others first. */
function notAvoiding(agent: SchedulingAgent, ctx: PgContext, now: number) {
  return sql`not (coalesce(${jobs.avoidAgentId} = ${agent.id}, false) and ${jobs.requeuedAt} > ${now - ctx.options.avoidAgentMs})`;
}

/** The agent fields scheduling looks at. */
export type SchedulingAgent = Pick<
  typeof agents.$inferSelect,
  "id" | "orgId" | "target" | "device" | "installed"
>;

const schedulerAgent = (agent: SchedulingAgent): SchedulingInput["agent"] => ({
  id: agent.id,
  target: agent.target,
  device: agent.device,
  installed: agent.installed,
});

interface ViewRow {
  fleet: FleetCountRow[];
  usage: OrgUsageRow[];
  inFlight: { orgId: string; ms: number }[];
}

/**
 * Everything the scheduler weighs besides the queue, as one JSON value: the target's live agents
 * counted by what they work on (fleet.ts), and each org's usage with the work leased right now.
 */
function viewJson(ctx: PgContext, agent: SchedulingAgent, now: number): SQL {
  const { defaultTestMs } = ctx.options.scheduler;
  return sql`json_build_object(
    'fleet', (select coalesce(json_agg(json_build_object(
        'agentOrg', agent_org, 'leaseOrg', lease_org, 'n', n)), '[]') from (
        select a.org_id as agent_org, l.org_id as lease_org, count(*)::int as n
        from agents a left join leases l
          on l.agent_id = a.id and l.ended_at is null and l.expires_at > ${now}
        where a.target = ${agent.target} and a.last_seen_at > ${now - ctx.options.leaseTtlMs}
        group by 1, 2) f),
    'usage', (select coalesce(json_agg(json_build_object(
        'orgId', org_id, 'usageMs', usage_ms, 'updatedAt', updated_at)), '[]')
      from org_usage),
    'inFlight', (select coalesce(json_agg(json_build_object('orgId', org_id, 'ms', ms)), '[]') from (
        select j.org_id, sum(coalesce(d.ewma_ms, ${defaultTestMs}))::float8 as ms
        from jobs j left join test_durations d
          on d.org_id = j.org_id and d.test_path = j.test_path and d.target = j.target
        where j.status in ('leased', 'running') group by j.org_id) f))`;
}

function viewOf(
  view: ViewRow,
  ctx: PgContext,
  agent: SchedulingAgent,
  now: number,
  extraIdle = 0,
): Omit<SchedulingInput, "queued"> {
  return {
    now,
    agent: schedulerAgent(agent),
    orgUsageMs: usageView(view.usage, view.inFlight, now, ctx.options.scheduler.usageHalfLifeMs),
    ...fleetView(view.fleet, extraIdle),
  };
}

/** The scheduler's inputs besides the queue, read on their own. */
export async function schedulingView(
  db: PgExec,
  ctx: PgContext,
  agent: SchedulingAgent,
  now: number,
  extraIdle = 0,
): Promise<Omit<SchedulingInput, "queued">> {
  const result = (await db.execute(
    sql`select ${viewJson(ctx, agent, now)} as view`,
  )) as unknown as {
    rows: [{ view: ViewRow }];
  };
  return viewOf(result.rows[0].view, ctx, agent, now, extraIdle);
}

/**
 * Groups a claim can lose to concurrent claims (their jobs locked) before it reads the heads
 * again: with several agents polling at once, most go for the same best group.
 */
const SPARE_HEADS = 4;

/**
 * What the scheduler hands this agent now: the claim's decision (`lock`: its jobs locked for
 * the caller's transaction), or the queue view's preview of it. As on SQLite: the groups are
 * ranked from the bounded candidate heads (heads.ts), then the chosen group's first jobs are
 * read. A group with nothing left to take (its jobs avoid this agent, or concurrent claims hold
 * them) is left out and the ranking runs again without it.
 */
export async function decideFor(
  db: PgExec,
  ctx: PgContext,
  agent: SchedulingAgent,
  now: number,
  opts: { extraIdle?: number; lock?: boolean } = {},
): Promise<Decision | null> {
  const { scheduler } = ctx.options;
  let input: Omit<SchedulingInput, "queued"> | undefined;
  const plain = headReads(db);
  // The first bounded read brings the rest of the scheduler's inputs along (heads.ts headsAnd).
  const reads: HeadReads<Promise<HeadRow[]>> = {
    ...plain,
    bounded: async (q, deviceKey, limit) => {
      if (input) return plain.bounded(q, deviceKey, limit);
      const heads = boundedHeads(q, deviceKey, limit);
      const read = await headsAnd<ViewRow>(db, heads, viewJson(ctx, agent, now));
      if (read.also) input = viewOf(read.also, ctx, agent, now, opts.extraIdle);
      return read.rows;
    },
  };
  const claimable = notAvoiding(agent, ctx, now);
  const query: HeadQuery = {
    target: agent.target,
    orgId: agent.orgId,
    installed: agent.installed,
    excluded: [],
  };
  let rows: HeadRow[] = [];
  let readWith = -Infinity;
  for (const excluded: string[] = []; ;) {
    if (excluded.length - readWith > SPARE_HEADS) {
      const plan = candidateRows({ ...query, excluded, spare: SPARE_HEADS }, agent.device);
      rows = await runPlanAsync(plan, reads, query);
      readWith = excluded.length;
    }
    const left = new Set(excluded);
    const heads = headsOf(rows.filter((r) => !left.has(r.groupKey)));
    if (heads.length === 0) return null;
    input ??= await schedulingView(db, ctx, agent, now, opts.extraIdle);
    const choice = chooseGroup(heads, input, scheduler);
    if (!choice) return null;
    const starvingSince = now - scheduler.starvationMs;
    const group = await groupForBatch(
      db,
      scheduler,
      choice.group,
      agent.device,
      claimable,
      starvingSince,
      opts.lock ?? false,
    );
    if (group) return decideBatch(group, choice, input, scheduler);
    excluded.push(choice.group.storedKey);
  }
}

/**
 * Whether a claim's lease broke leases_agent_live: another claim by the same agent (a second
 * poll, on this replica or another) committed a lease after this one checked for none.
 */
function secondLiveLease(err: unknown): boolean {
  for (
    let e = err as { constraint?: unknown; cause?: unknown } | undefined;
    e;
    e = e.cause as never
  ) {
    if (e.constraint === "leases_agent_live") return true;
  }
  return false;
}

export async function claimLease(
  ctx: PgContext,
  agentId: string,
  now: number,
  holder?: LeaseHolderCheck,
): Promise<LeaseGrant | null> {
  try {
    return await claimOnce(ctx, agentId, now, holder);
  } catch (err) {
    // That poll is answered with the lease; this one found no work (its next read says
    // lease_active), and its rolled-back claim left the jobs queued.
    if (secondLiveLease(err)) return null;
    throw err;
  }
}

function claimOnce(
  ctx: PgContext,
  agentId: string,
  now: number,
  holder: LeaseHolderCheck | undefined,
): Promise<LeaseGrant | null> {
  return transaction(ctx, async (tx, publish) => {
    const agent = await claimingAgent(tx, ctx, agentId, now, holder);
    // The batch's jobs are read FOR UPDATE SKIP LOCKED (decideFor): each job goes to exactly one
    // lease, no claim waits on another, and concurrent claims aiming at one group split it.
    // A drained agent's polls are answered "no work" until it is undrained.
    if (agent.drainedAt !== null) return null;
    const decision = await decideFor(tx, ctx, agent, now, { lock: true });
    if (!decision) return null;

    const lease: LeaseRecord = {
      id: newId("lse", now),
      agentId,
      orgId: decision.orgId,
      appVersionId: decision.appVersionId,
      target: decision.target,
      groupKey: decision.groupKey,
      install: decision.install,
      createdAt: now,
      expiresAt: now + ctx.options.leaseTtlMs,
      endedAt: null,
      endReason: null,
    };
    const installed = [
      decision.appVersionId,
      ...agent.installed.filter((v) => v !== decision.appVersionId),
    ].slice(0, INSTALLED_KEPT);
    const rows = await writeClaim(tx, lease, installed, decision.jobIds);
    const { jobs: claimed, inputs } = splitRunInputs(rows);
    const order = new Map(decision.jobIds.map((id, i) => [id, i]));
    claimed.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    for (const runId of inputs.keys()) publish(`run:${runId}`);
    const ordered = await orderByHistory(tx, ctx, claimed);
    return { lease, jobs: ordered, inputs, reason: decision.reason };
  });
}

/** The claiming agent, seen now and locked for its claim; refused when it holds a lease. */
async function claimingAgent(
  tx: PgExec,
  ctx: PgContext,
  agentId: string,
  now: number,
  holder: LeaseHolderCheck | undefined,
) {
  // The agent's advisory lock: two claims by one agent (on two replicas) run in turn. Unlike
  // its row lock it writes nothing, so an empty poll by a recently seen agent is read-only.
  const [agent] = await tx
    .with(...ctes(tx, [seenWrite(ctx, agentId, now)]))
    .select({
      ...getTableColumns(agents),
      held: sql<string | null>`(select id from leases where agent_id = ${agentId}
        and ended_at is null and expires_at > ${now} limit 1)`,
      locked: sql`pg_advisory_xact_lock(hashtext(${`qgjob:claim:${agentId}`}))`,
    })
    .from(agents)
    .where(eq(agents.id, agentId));
  if (!agent || (holder && !holder(agent))) throw notFound("agent", agentId);
  if (agent.held) {
    throw leaseActive(agent.held);
  }
  return agent;
}

/**
 * The lease, its attempts, the agent's installed versions and the jobs: one statement. Its CTEs
 * read the jobs as they were before it (queued, and locked by the claim's read). Answers the
 * jobs it leased with their runs' inputs.
 */
function writeClaim(tx: PgExec, lease: LeaseRecord, installed: string[], jobIds: string[]) {
  const ids = JSON.stringify(jobIds);
  return (
    tx
      .with(
        ...ctes(tx, [
          sql`insert into leases (id, agent_id, org_id, app_version_id, target, group_key, install,
              created_at, expires_at)
            values (${lease.id}, ${lease.agentId}, ${lease.orgId}, ${lease.appVersionId}, ${lease.target},
              ${lease.groupKey}, ${lease.install}, ${lease.createdAt}, ${lease.expiresAt})`,
          sql`update agents set installed = ${JSON.stringify(installed)}::jsonb where id = ${lease.agentId}`,
          sql`insert into job_attempts (job_id, attempt, lease_id, agent_id, status)
            select id, attempts + 1, ${lease.id}, ${lease.agentId}, 'leased' from jobs
            where id in (select jsonb_array_elements_text(${ids}::jsonb)) and status = 'queued'`,
        ]),
      )
      .update(jobs)
      .set({
        status: "leased",
        leaseId: lease.id,
        agentId: lease.agentId,
        attempts: sql`${jobs.attempts} + 1`,
        avoidAgentId: null,
      })
      .where(and(inArray(jobs.id, jobIds), eq(jobs.status, "queued")))
      // The runs' bundles and builds the agent needs come back with the jobs: no read after.
      .returning({ ...getTableColumns(jobs), ...runInputsOfJob })
  );
}

function leaseLost(lease: LeaseRecord | undefined, leaseId: string, now: number, agentId?: string) {
  if (!lease || (agentId !== undefined && lease.agentId !== agentId)) {
    return new QgjobError("lease_lost", `lease ${leaseId} is not held by this agent`);
  }
  if (lease.endedAt !== null || lease.expiresAt <= now) {
    return new QgjobError(
      "lease_lost",
      `lease ${leaseId} has ended (${lease.endReason ?? "expired"})`,
      { lease_id: leaseId },
    );
  }
  return null;
}

export async function heartbeat(
  ctx: PgContext,
  agentId: string,
  leaseId: string | null,
  now: number,
) {
  // The agent is alive even when its lease is not: record that before the lease check can refuse.
  await touchAgent(ctx, agentId, now);
  if (leaseId === null) return { lease: null, cancelJobIds: [] };
  return transaction(ctx, async (tx) => {
    const ended = await lockedLease(tx, leaseId);
    // A lease completed by its last result is not lost: its agent heartbeats it until it has
    // released it.
    const completed = ended?.agentId === agentId && ended.endReason === "completed";
    if (!completed) {
      const lost = leaseLost(ended, leaseId, now, agentId);
      if (lost) throw lost;
    }
    const lease = completed
      ? null
      : (
          await tx
            .update(leases)
            // Never shortens it: a beat computed before a pause may commit after the extension
            // for that pause (app/pauses.ts), and must not undo it.
            .set({ expiresAt: sql`greatest(${leases.expiresAt}, ${now + ctx.options.leaseTtlMs})` })
            .where(eq(leases.id, leaseId))
            .returning()
        )[0]!;
    const cancelJobIds = (
      await tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(eq(jobs.leaseId, leaseId), inArray(jobs.status, [...SERVER_ENDED_STATUSES])))
    ).map((j) => j.id);
    return { lease, cancelJobIds };
  });
}

/** One guarded statement after a read (guarded-reports.ts); the locked transaction if it misses. */
export async function startJob(
  ctx: PgContext,
  leaseId: string,
  jobId: string,
  attempt: number,
  now: number,
  holder?: LeaseHolderCheck,
): Promise<JobRecord> {
  return (
    (await guardedStart(ctx, leaseId, jobId, attempt, now, holder)) ??
    lockedStart(ctx, leaseId, jobId, attempt, now, holder)
  );
}

function lockedStart(
  ctx: PgContext,
  leaseId: string,
  jobId: string,
  attempt: number,
  now: number,
  holder: LeaseHolderCheck | undefined,
): Promise<JobRecord> {
  return transaction(ctx, async (tx, publish) => {
    const read = await leaseAndJob(tx, leaseId, jobId, attempt, now, true);
    requireHolder(leaseId, read.holder, holder);
    const job = requireHeld(read.job, read.lease, leaseId, jobId, now);
    if (decideStart(job, attempt) === "already_running") return job;
    // The attempt and the job in one statement: the job's update returns the row answered.
    const attemptRunning = tx
      .update(jobAttempts)
      .set({ status: "running", startedAt: now })
      .where(
        and(
          eq(jobAttempts.jobId, jobId),
          eq(jobAttempts.attempt, attempt),
          eq(jobAttempts.status, "leased"),
        ),
      );
    const [started] = await tx
      .with(...ctes(tx, [attemptRunning.getSQL()]))
      .update(jobs)
      .set({ status: "running", startedAt: now })
      .where(eq(jobs.id, jobId))
      .returning();
    publish(`run:${job.runId}`);
    return started!;
  });
}

/** Puts a job back in the queue after an infrastructure failure, away from the agent that had it. */
function requeue(db: Pick<PgExec, "update">, job: JobRecord, now: number) {
  return db
    .update(jobs)
    .set({
      status: "queued",
      leaseId: null,
      agentId: null,
      avoidAgentId: job.agentId,
      requeuedAt: now,
    })
    .where(eq(jobs.id, job.id))
    .returning();
}

/** A result that ends the job is one guarded statement after a read (guarded-reports.ts). */
export async function reportResult(
  ctx: PgContext,
  leaseId: string,
  jobId: string,
  result: ResultInput,
  now: number,
  holder?: LeaseHolderCheck,
): Promise<ResultOutcome> {
  return (
    (await guardedResult(ctx, leaseId, jobId, result, now, holder)) ??
    lockedResult(ctx, leaseId, jobId, result, now, holder)
  );
}

function lockedResult(
  ctx: PgContext,
  leaseId: string,
  jobId: string,
  result: ResultInput,
  now: number,
  holder: LeaseHolderCheck | undefined,
): Promise<ResultOutcome> {
  return transaction(ctx, async (tx, publish) => {
    const read = await leaseAndJob(tx, leaseId, jobId, result.attempt, now, true);
    requireHolder(leaseId, read.holder, holder);
    const outcome = await applyResult(tx, read, leaseId, jobId, result, now);
    if (!outcome.duplicate && result.status === "error") {
      await noteError(tx, ctx, read.lease!.agentId, jobId, result.message ?? null, now);
    }
    // Last, in the transaction's last statement: these rows are shared by every result of the
    // test file and of the org, so their locks are held for as short a time as possible.
    const last = outcome.counted ? durationWrites(ctx, outcome.job, result.duration_ms, now) : [];
    if (endedJob(outcome)) {
      const quarantine = read.quarantinedUntil;
      outcome.job = await recordTestHistory(tx, ctx, outcome.job, now, quarantine, last);
    } else if (last.length) await inOneStatement(tx, last);
    if (outcome.requeued) for (const topic of workTopics([outcome.job])) publish(topic);
    if (!outcome.duplicate) publish(`run:${outcome.job.runId}`);
    const { job, retry, duplicate, requeued } = outcome;
    return { job, retry, duplicate, requeued };
  });
}

async function noteError(
  tx: PgExec,
  ctx: PgContext,
  agentId: string,
  jobId: string,
  message: string | null,
  now: number,
) {
  const [agent] = await tx.select().from(agents).where(eq(agents.id, agentId)).for("update");
  if (!agent) return;
  const next = noteAgentError(agent, { at: now, jobId, message }, ctx.options.drainRule);
  await tx.update(agents).set(next).where(eq(agents.id, agentId));
}

async function applyResult(
  tx: PgExec,
  read: LeaseAndJob,
  leaseId: string,
  jobId: string,
  result: ResultInput,
  now: number,
): Promise<ResultOutcome & { requeued: boolean; counted?: boolean }> {
  const { lease, job: current, attempt: recorded } = read;
  if (!current || current.orgId !== lease?.orgId) throw notFound("job", jobId);
  // A repeated post is answered as before, even after the lease has moved on...
  const repeat = repeatedPost(current, recorded, result, leaseId);
  if (repeat) return { job: current, retry: repeat.retry, duplicate: true, requeued: false };
  // ...anything else needs the lease to still hold the job, and a 409 that says why not.
  const job = requireHeld(current, lease, leaseId, jobId, now);
  const decision = decideResult(job, recorded, result);
  const reported: Reported = { tx, job, leaseId, result, stored: toStoredResult(result), now };
  switch (decision.kind) {
    case "duplicate":
    case "conflict":
      throw new QgjobError(
        "result_conflict",
        decision.kind === "conflict" ? decision.why : "already reported",
        { job_status: job.status },
      );
    case "final":
      return {
        job: await finishJob(reported, decision),
        retry: false,
        duplicate: false,
        requeued: false,
        counted: result.status !== "error",
      };
    case "retry":
      return {
        job: await retryJob(reported),
        retry: true,
        duplicate: false,
        requeued: false,
        counted: true,
      };
    case "requeue": {
      const [updated] = await requeue(leaving(reported, "error"), job, now);
      return { job: updated!, retry: false, duplicate: false, requeued: true };
    }
  }
}

/** One attempt's result as it is written: the job as its lease held it, what the agent sent. */
interface Reported {
  tx: PgExec;
  job: JobRecord;
  leaseId: string;
  result: ResultInput;
  stored: StoredResult;
  now: number;
}

function closeAttempt({ tx, job, result, stored, now }: Reported, status: JobStatus) {
  return tx
    .update(jobAttempts)
    .set({ status, finishedAt: now, durationMs: result.duration_ms, result: stored })
    .where(and(eq(jobAttempts.jobId, job.id), eq(jobAttempts.attempt, result.attempt)));
}

/** The job leaves the lease: closing its attempt and completing the lease go with its update. */
function leaving(reported: Reported, status: JobStatus) {
  const { tx, job, leaseId, now } = reported;
  return tx.with(
    ...ctes(tx, [closeAttempt(reported, status).getSQL(), leaseCompletion(leaseId, now, job.id)]),
  );
}

/** The job's last attempt: it ends with the decided status. */
async function finishJob(reported: Reported, decision: { status: JobStatus; flaky: boolean }) {
  const { job, result, stored, now } = reported;
  const [updated] = await leaving(reported, result.status)
    .update(jobs)
    .set(finalFields(job, decision, result, stored, now))
    .where(eq(jobs.id, job.id))
    .returning();
  return updated!;
}

/** A failed attempt with retries left: the next attempt is leased to the same agent at once. */
async function retryJob(reported: Reported) {
  const { tx, job, leaseId, result, stored } = reported;
  await closeAttempt(reported, result.status);
  const [updated] = await tx
    .update(jobs)
    .set(retryFields(job, stored))
    .where(eq(jobs.id, job.id))
    .returning();
  await tx.insert(jobAttempts).values({
    jobId: job.id,
    attempt: updated!.attempts,
    leaseId,
    agentId: job.agentId!,
    status: "leased",
  });
  return updated!;
}

/**
 * Ends a lease (the caller holds its row lock) and settles its unfinished jobs. Jobs the agent
 * never started go back to the queue without spending an attempt; a started one was interrupted
 * and counts as an infrastructure failure (requeued, or `error` once its attempts are spent).
 */
async function endLease(
  tx: PgExec,
  lease: LeaseRecord,
  reason: string,
  now: number,
  publish: Publish,
) {
  await tx.update(leases).set({ endedAt: now, endReason: reason }).where(eq(leases.id, lease.id));
  const open = await tx
    .select()
    .from(jobs)
    .where(and(eq(jobs.leaseId, lease.id), inArray(jobs.status, OPEN_JOB)));
  const report = { requeued: 0, failed: 0 };
  for (const job of open) {
    publish(`run:${job.runId}`);
    const attempt = and(eq(jobAttempts.jobId, job.id), eq(jobAttempts.attempt, job.attempts));
    if (job.status === "leased" && reason === "released") {
      await tx.delete(jobAttempts).where(attempt);
      await tx
        .update(jobs)
        .set({ status: "queued", leaseId: null, agentId: null, attempts: job.attempts - 1 })
        .where(eq(jobs.id, job.id));
      report.requeued++;
      continue;
    }
    const why = LOST_BECAUSE[reason] ?? reason;
    await tx
      .update(jobAttempts)
      .set({ status: "error", finishedAt: now, result: lostResult(why) })
      .where(attempt);
    if (decideLostJob(job) === "requeue") {
      await requeue(tx, job, now);
      report.requeued++;
    } else {
      await tx
        .update(jobs)
        .set({ status: "error", finishedAt: now, result: lostResult(why) })
        .where(eq(jobs.id, job.id));
      report.failed++;
    }
  }
  if (report.requeued > 0) publish("work");
  return report;
}

const LOST_BECAUSE: Record<string, string> = {
  released: "the agent released the job while it ran",
  expired: "agent lost: its lease expired without a heartbeat",
  restarted: "agent lost: it restarted while running the job",
  not_started: "the agent held the lease but started nothing within the lease-start bound",
};

/** Ends a lease the agent can no longer finish (it restarted, or was declared lost). */
export async function expireLease(ctx: PgContext, leaseId: string, reason: string, now: number) {
  await transaction(ctx, async (tx, publish) => {
    const lease = await lockedLease(tx, leaseId);
    if (lease && lease.endedAt === null) await endLease(tx, lease, reason, now, publish);
  });
}

export function releaseLease(ctx: PgContext, leaseId: string, now: number): Promise<number> {
  return transaction(ctx, async (tx, publish) => {
    const lease = await lockedLease(tx, leaseId);
    // Releasing after the last result, or twice, is what a tidy agent does: nothing is left.
    if (lease?.endReason === "completed" || lease?.endReason === "released") return 0;
    const lost = leaseLost(lease, leaseId, now);
    if (lost) throw lost;
    return (await endLease(tx, lease!, "released", now, publish)).requeued;
  });
}

/**
 * Settles expired leases, and ends jobs that ran far past their own timeout. Every replica runs
 * this on its own timer. Leases are taken with FOR UPDATE SKIP LOCKED: a lease another replica's
 * reaper (or a late result post) holds right now is passed over and is that transaction's to
 * settle, and one already settled no longer matches `ended_at is null`. So each lease is settled
 * once, and reapers never wait on each other.
 */
export function reapExpired(ctx: PgContext, now: number): Promise<ReapReport> {
  return transaction(ctx, async (tx, publish) => {
    const report: ReapReport = { expiredLeases: 0, requeued: 0, failed: 0, timedOut: 0 };
    const expired = await tx
      .select()
      .from(leases)
      .where(and(isNull(leases.endedAt), lt(leases.expiresAt, now)))
      .orderBy(asc(leases.id))
      .for("update", { skipLocked: true });
    for (const lease of expired) {
      const settled = await endLease(tx, lease, "expired", now, publish);
      report.expiredLeases++;
      report.requeued += settled.requeued;
      report.failed += settled.failed;
    }
    report.timedOut = await timeOutOverdue(tx, ctx, now, publish);
    return report;
  });
}

/** Ends the running jobs far past their own timeout as timed out; answers how many. */
async function timeOutOverdue(
  tx: PgExec,
  ctx: PgContext,
  now: number,
  publish: Publish,
): Promise<number> {
  const overdue = and(
    eq(jobs.status, "running"),
    sql`${jobs.startedAt} + ${jobs.timeoutS} * 1000 + ${ctx.options.timeoutGraceMs} < ${now}`,
  );
  const overdueLeases = await tx.selectDistinct({ id: jobs.leaseId }).from(jobs).where(overdue);
  // Same discipline: the lease first (skipping one another transaction holds), then its jobs.
  const locked = overdueLeases.length
    ? await tx
        .select({ id: leases.id })
        .from(leases)
        .where(
          inArray(
            leases.id,
            overdueLeases.map((l) => l.id!),
          ),
        )
        .orderBy(asc(leases.id))
        .for("update", { skipLocked: true })
    : [];
  if (locked.length === 0) return 0;
  const timedOut = await tx
    .update(jobs)
    .set({
      status: "timed_out",
      finishedAt: now,
      result: lostResult("exceeded its timeout and the agent did not report"),
    })
    .where(
      and(
        overdue,
        inArray(
          jobs.leaseId,
          locked.map((l) => l.id),
        ),
      ),
    )
    .returning({
      id: jobs.id,
      attempts: jobs.attempts,
      runId: jobs.runId,
      leaseId: jobs.leaseId,
    });
  for (const j of timedOut) {
    publish(`run:${j.runId}`);
    await tx
      .update(jobAttempts)
      .set({ status: "timed_out", finishedAt: now })
      .where(and(eq(jobAttempts.jobId, j.id), eq(jobAttempts.attempt, j.attempts)));
  }
  return timedOut.length;
}
