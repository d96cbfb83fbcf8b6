/** Leases: how agents take work, keep it, report it and give it back (docs/architecture.md, Leases). */
import { workTopics } from "../change-feed.js";
import { HELD_STATUSES, SERVER_ENDED_STATUSES, type JobStatus } from "../../../api/status.js";
import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { ResultInput } from "../../../api/schemas.js";
import { QgjobError, notFound } from "../../errors.js";
import { newId } from "../../ids.js";
import { chooseGroup, decideBatch } from "../../scheduler/policy.js";
import type { Decision, SchedulingInput, Target } from "../../scheduler/types.js";
import { decayUsage, ewma } from "../../scheduler/usage.js";
import { fleetView, staleSeenAt, usageView } from "../fleet.js";
import { candidateRows, headsOf, runPlan, type HeadQuery } from "../heads.js";
import {
  noteAgentError,
  observedDurationMs,
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
import type { SqliteContext, SqliteExec } from "./context.js";
import { lookups } from "./lookups.js";
import { headReads } from "./heads.js";
import { splitRunInputs } from "../run-inputs.js";
import { endedJob } from "../history.js";
import { orderByHistory, recordTestHistory } from "./history.js";
import { groupForBatch } from "./queued.js";
import { claimQueries } from "./claim-queries.js";
import { agents, jobAttempts, jobs, leases } from "./schema.js";

const OPEN_JOB = [...HELD_STATUSES];
const INSTALLED_KEPT = 20;

/** The agent, its `last_seen_at` rewritten only once stale (fleet.ts `staleSeenAt`). */
function touchAgent(ctx: SqliteContext, agentId: string, now: number) {
  const q = claimQueries(ctx);
  const agent = q.agent.get({ id: agentId });
  if (!agent) throw notFound("agent", agentId);
  if (agent.lastSeenAt > staleSeenAt(now, ctx.options.leaseTtlMs)) return agent;
  q.seen.run({ id: agentId, now });
  return { ...agent, lastSeenAt: now };
}

/** The agent fields scheduling looks at. */
export type SchedulingAgent = Pick<
  typeof agents.$inferSelect,
  "id" | "orgId" | "target" | "device" | "installed"
>;

/** Usage per org now (fleet.ts): its decayed usage rows and the work leased right now. */
function orgUsageNow(ctx: SqliteContext, now: number): Map<string, number> {
  const q = claimQueries(ctx);
  const { usageHalfLifeMs } = ctx.options.scheduler;
  return usageView(q.usage.all(), q.inFlight.all(), now, usageHalfLifeMs);
}

/** The live agents of a target and what they work on, as the scheduler sees them (fleet.ts). */
function fleetNow(ctx: SqliteContext, target: Target, now: number, extraIdle: number) {
  const aliveSince = now - ctx.options.leaseTtlMs;
  const counts = claimQueries(ctx).fleetCounts.all({ target, now, aliveSince });
  return fleetView(counts, extraIdle);
}

/** Everything the scheduler weighs besides the queue: the agent, usage and the fleet. */
export function schedulingView(
  ctx: SqliteContext,
  agent: SchedulingAgent,
  now: number,
  extraIdle = 0,
): Omit<SchedulingInput, "queued"> {
  return {
    now,
    agent: {
      id: agent.id,
      target: agent.target,
      device: agent.device,
      installed: agent.installed,
    },
    orgUsageMs: orgUsageNow(ctx, now),
    ...fleetNow(ctx, agent.target, now, extraIdle),
  };
}

/**
 * What the scheduler hands this agent now, read on the connection (so in the caller's
 * transaction, where there is one): the claim's
 * decision, and the queue view's preview of it (which claims nothing). The groups are ranked
 * from the bounded candidate heads (heads.ts), then only the chosen group's first jobs are read.
 * A group whose every job avoids this agent for now is left out and the ranking runs again.
 */
export function decideFor(
  ctx: SqliteContext,
  agent: SchedulingAgent,
  now: number,
  extraIdle = 0,
): Decision | null {
  const { scheduler } = ctx.options;
  const reads = headReads(ctx);
  const claimant = {
    agentId: agent.id,
    device: agent.device,
    avoidSince: now - ctx.options.avoidAgentMs,
    starvingSince: now - scheduler.starvationMs,
  };
  const query: HeadQuery = {
    target: agent.target,
    orgId: agent.orgId,
    installed: agent.installed,
    excluded: [],
  };
  let input: Omit<SchedulingInput, "queued"> | undefined;
  for (const excluded: string[] = []; ;) {
    const heads = headsOf(
      runPlan(candidateRows({ ...query, excluded }, agent.device), reads, query),
    );
    if (heads.length === 0) return null;
    input ??= schedulingView(ctx, agent, now, extraIdle);
    const choice = chooseGroup(heads, input, scheduler);
    if (!choice) return null;
    const group = groupForBatch(ctx, choice.group, claimant);
    if (group) return decideBatch(group, choice, input, scheduler);
    excluded.push(choice.group.storedKey);
  }
}

export function claimLease(
  ctx: SqliteContext,
  agentId: string,
  now: number,
  holder?: LeaseHolderCheck,
): LeaseGrant | null {
  return ctx.db.transaction(
    (tx) => {
      const agent = claimingAgent(tx, ctx, agentId, now, holder);
      // A drained agent's polls are answered "no work" until it is undrained.
      if (agent.drainedAt !== null) return null;
      const decision = decideFor(ctx, agent, now);
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
      const { jobs: claimed, inputs } = writeClaim(ctx, lease, decision.jobIds);
      const installed = [
        decision.appVersionId,
        ...agent.installed.filter((v) => v !== decision.appVersionId),
      ].slice(0, INSTALLED_KEPT);
      claimQueries(ctx).installed.run({ id: agentId, installed: JSON.stringify(installed) });

      const order = new Map(decision.jobIds.map((id, i) => [id, i]));
      claimed.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      return { lease, jobs: orderByHistory(ctx, claimed), inputs, reason: decision.reason };
    },
    { behavior: "immediate" },
  );
}

/** The claiming agent, seen now; refused when it holds a lease. */
function claimingAgent(
  tx: SqliteExec,
  ctx: SqliteContext,
  agentId: string,
  now: number,
  holder: LeaseHolderCheck | undefined,
) {
  const agent = touchAgent(ctx, agentId, now);
  if (holder && !holder(agent)) throw notFound("agent", agentId);
  const held = claimQueries(ctx).heldLease.get({ agentId, now });
  if (held) {
    throw leaseActive(held.id);
  }
  return agent;
}

/** The lease, its jobs and their attempts; answers the jobs it leased with their runs' inputs. */
function writeClaim(ctx: SqliteContext, lease: LeaseRecord, jobIds: string[]) {
  const q = claimQueries(ctx);
  q.insertLease.run({ ...lease });
  const rows = q.claimJobs.all({
    leaseId: lease.id,
    agentId: lease.agentId,
    ids: JSON.stringify(jobIds),
  });
  const claimed = splitRunInputs(rows);
  for (const j of claimed.jobs) {
    q.insertAttempt.run({
      jobId: j.id,
      attempt: j.attempts,
      leaseId: lease.id,
      agentId: lease.agentId,
    });
  }
  return claimed;
}

/** The live lease `leaseId` of this agent, or lease_lost. */
function requireLiveLease(ctx: SqliteContext, leaseId: string, now: number, agentId?: string) {
  const lease = lookups(ctx).lease.get({ id: leaseId });
  if (!lease || (agentId !== undefined && lease.agentId !== agentId)) {
    throw new QgjobError("lease_lost", `lease ${leaseId} is not held by this agent`);
  }
  if (lease.endedAt !== null || lease.expiresAt <= now) {
    throw new QgjobError(
      "lease_lost",
      `lease ${leaseId} has ended (${lease.endReason ?? "expired"})`,
      {
        lease_id: leaseId,
      },
    );
  }
  return lease;
}

export function heartbeat(
  ctx: SqliteContext,
  agentId: string,
  leaseId: string | null,
  now: number,
) {
  // The agent is alive even when its lease is not: record that before the lease check can refuse.
  touchAgent(ctx, agentId, now);
  return ctx.db.transaction(
    (tx) => {
      if (leaseId === null) return { lease: null, cancelJobIds: [] };
      const ended = lookups(ctx).lease.get({ id: leaseId });
      // A lease completed by its last result is not lost: its agent heartbeats it until it has
      // released it.
      const completed = ended?.agentId === agentId && ended.endReason === "completed";
      if (!completed) requireLiveLease(ctx, leaseId, now, agentId);
      const lease = completed
        ? null
        : tx
            .update(leases)
            // Never shortens it: a lease extended for a server pause keeps that (app/pauses.ts).
            .set({ expiresAt: sql`max(${leases.expiresAt}, ${now + ctx.options.leaseTtlMs})` })
            .where(eq(leases.id, leaseId))
            .returning()
            .get()!;
      const cancelJobIds = tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(eq(jobs.leaseId, leaseId), inArray(jobs.status, [...SERVER_ENDED_STATUSES])))
        .all()
        .map((j) => j.id);
      return { lease, cancelJobIds };
    },
    { behavior: "immediate" },
  );
}

/** The job, held by this live lease; otherwise the 409 that tells the agent why not. */
function heldJob(ctx: SqliteContext, leaseId: string, jobId: string, now: number): JobRecord {
  const job = lookups(ctx).job.get({ id: jobId });
  const lease = lookups(ctx).lease.get({ id: leaseId });
  return requireHeld(job, lease, leaseId, jobId, now);
}

export function startJob(
  ctx: SqliteContext,
  leaseId: string,
  jobId: string,
  attempt: number,
  now: number,
  holder?: LeaseHolderCheck,
) {
  const job = ctx.db.transaction(
    () => {
      if (holder) requireHolder(leaseId, lookups(ctx).leaseHolder.get({ id: leaseId }), holder);
      const job = heldJob(ctx, leaseId, jobId, now);
      if (decideStart(job, attempt) === "already_running") return job;
      ctx.raw
        .prepare(
          `update job_attempts set status = 'running', started_at = ?
           where job_id = ? and attempt = ? and status = 'leased'`,
        )
        .run(now, jobId, attempt);
      ctx.raw
        .prepare("update jobs set status = 'running', started_at = ? where id = ?")
        .run(now, jobId);
      return { ...job, status: "running" as const, startedAt: now };
    },
    { behavior: "immediate" },
  );
  ctx.feed.publish(`run:${job.runId}`);
  return job;
}

function recordDuration(ctx: SqliteContext, job: JobRecord, reportedMs: number, now: number) {
  const ms = observedDurationMs(reportedMs, job.startedAt, now);
  const prior = lookups(ctx).testDuration.get({
    orgId: job.orgId,
    testPath: job.testPath,
    target: job.target,
  });
  const ewmaMs = ewma(prior?.ewmaMs ?? null, ms, ctx.options.scheduler.ewmaAlpha);
  ctx.raw
    .prepare(
      `insert into test_durations (org_id, test_path, target, ewma_ms, samples, updated_at)
       values (?, ?, ?, ?, 1, ?)
       on conflict (org_id, test_path, target) do update
       set ewma_ms = excluded.ewma_ms, samples = samples + 1, updated_at = excluded.updated_at`,
    )
    .run(job.orgId, job.testPath, job.target, ewmaMs, now);
  const usage = lookups(ctx).orgUsage.get({ orgId: job.orgId });
  const usageMs =
    decayUsage(
      usage?.usageMs ?? 0,
      now - (usage?.updatedAt ?? now),
      ctx.options.scheduler.usageHalfLifeMs,
    ) + ms;
  ctx.raw
    .prepare(
      `insert into org_usage (org_id, usage_ms, updated_at) values (?, ?, ?)
       on conflict (org_id) do update
       set usage_ms = excluded.usage_ms, updated_at = excluded.updated_at`,
    )
    .run(job.orgId, usageMs, now);
}

/** Puts a job back in the queue after an infrastructure failure, away from the agent that had it. */
function requeue(db: SqliteExec, job: JobRecord, now: number) {
  db.update(jobs)
    .set({
      status: "queued",
      leaseId: null,
      agentId: null,
      avoidAgentId: job.agentId,
      requeuedAt: now,
    })
    .where(eq(jobs.id, job.id))
    .run();
}

export function reportResult(
  ctx: SqliteContext,
  leaseId: string,
  jobId: string,
  result: ResultInput,
  now: number,
  holder?: LeaseHolderCheck,
): ResultOutcome {
  const outcome = ctx.db.transaction(
    (tx) => {
      if (holder) requireHolder(leaseId, lookups(ctx).leaseHolder.get({ id: leaseId }), holder);
      const outcome = applyResult(tx, ctx, leaseId, jobId, result, now);
      if (!outcome.duplicate) completeLeaseIfDone(ctx, leaseId, now);
      if (endedJob(outcome)) outcome.job = recordTestHistory(ctx, outcome.job, now);
      return outcome;
    },
    { behavior: "immediate" },
  );
  if (outcome.requeued) for (const topic of workTopics([outcome.job])) ctx.feed.publish(topic);
  if (!outcome.duplicate) ctx.feed.publish(`run:${outcome.job.runId}`);
  const { job, retry, duplicate, requeued } = outcome;
  return { job, retry, duplicate, requeued };
}

/** A lease ends by itself once none of its jobs is left to run: the agent may lease again. */
export function completeLeaseIfDone(ctx: SqliteContext, leaseId: string, now: number) {
  const open = ctx.raw
    .prepare("select 1 from jobs where lease_id = ? and status in ('leased', 'running') limit 1")
    .get(leaseId);
  if (!open) {
    ctx.raw
      .prepare(
        "update leases set ended_at = ?, end_reason = 'completed' where id = ? and ended_at is null",
      )
      .run(now, leaseId);
  }
}

function applyResult(
  tx: SqliteExec,
  ctx: SqliteContext,
  leaseId: string,
  jobId: string,
  result: ResultInput,
  now: number,
): ResultOutcome {
  const recorded = lookups(ctx).attempt.get({ jobId, attempt: result.attempt, leaseId });
  const current = lookups(ctx).job.get({ id: jobId });
  const lease = lookups(ctx).lease.get({ id: leaseId });
  if (!current || current.orgId !== lease?.orgId) throw notFound("job", jobId);
  // A repeated post is answered as before, even after the lease has moved on...
  const repeat = repeatedPost(current, recorded, result, leaseId);
  if (repeat) return { job: current, retry: repeat.retry, duplicate: true, requeued: false };
  // ...anything else needs the lease to still hold the job, and a 409 that says why not.
  const job = heldJob(ctx, leaseId, jobId, now);
  const decision = decideResult(job, recorded, result);
  const reported: Reported = { tx, ctx, job, result, stored: toStoredResult(result), now };
  switch (decision.kind) {
    case "duplicate":
    case "conflict":
      throw new QgjobError(
        "result_conflict",
        decision.kind === "conflict" ? decision.why : "already reported",
        {
          job_status: job.status,
        },
      );
    case "final":
      return {
        job: finishJob(reported, decision),
        retry: false,
        duplicate: false,
        requeued: false,
      };
    case "retry":
      return { job: retryJob(reported, leaseId), retry: true, duplicate: false, requeued: false };
    case "requeue": {
      closeAttempt(reported, "error");
      requeue(tx, job, now);
      const updated = lookups(ctx).job.get({ id: jobId })!;
      return { job: updated, retry: false, duplicate: false, requeued: true };
    }
  }
}

/** One attempt's result as it is written: the job as its lease held it, what the agent sent. */
interface Reported {
  tx: SqliteExec;
  ctx: SqliteContext;
  job: JobRecord;
  result: ResultInput;
  stored: StoredResult;
  now: number;
}

function closeAttempt({ tx, ctx, job, result, stored, now }: Reported, status: JobStatus) {
  lookups(ctx).closeAttempt.run({
    status,
    finishedAt: now,
    durationMs: result.duration_ms,
    result: JSON.stringify(stored),
    jobId: job.id,
    attempt: result.attempt,
  });
  if (status === "error") noteError(tx, ctx, job.agentId!, job.id, stored.message, now);
}

/** The job's last attempt: it ends with the decided status. */
function finishJob(reported: Reported, decision: { status: JobStatus; flaky: boolean }) {
  const { ctx, job, result, stored, now } = reported;
  closeAttempt(reported, result.status);
  if (result.status !== "error") recordDuration(ctx, job, result.duration_ms, now);
  const final = finalFields(job, decision, result, stored, now);
  return lookups(ctx).finishJob.get({
    ...final,
    flaky: final.flaky ? 1 : 0,
    result: JSON.stringify(final.result),
    id: job.id,
  })!;
}

/** A failed attempt with retries left: the next attempt is leased to the same agent at once. */
function retryJob(reported: Reported, leaseId: string) {
  const { tx, ctx, job, result, stored, now } = reported;
  closeAttempt(reported, result.status);
  recordDuration(ctx, job, result.duration_ms, now);
  const updated = tx
    .update(jobs)
    .set(retryFields(job, stored))
    .where(eq(jobs.id, job.id))
    .returning()
    .get()!;
  tx.insert(jobAttempts)
    .values({
      jobId: job.id,
      attempt: updated.attempts,
      leaseId,
      agentId: job.agentId!,
      status: "leased",
    })
    .run();
  return updated;
}

function noteError(
  tx: SqliteExec,
  ctx: SqliteContext,
  agentId: string,
  jobId: string,
  message: string | null,
  now: number,
) {
  const agent = tx.select().from(agents).where(eq(agents.id, agentId)).get();
  if (!agent) return;
  const next = noteAgentError(agent, { at: now, jobId, message }, ctx.options.drainRule);
  tx.update(agents).set(next).where(eq(agents.id, agentId)).run();
}

/**
 * Ends a lease and settles its unfinished jobs. Jobs the agent never started go back to the
 * queue without spending an attempt; a started one was interrupted and counts as an
 * infrastructure failure (requeued, or `error` once its attempts are spent).
 */
function endLease(db: SqliteExec, lease: LeaseRecord, reason: string, now: number) {
  db.update(leases).set({ endedAt: now, endReason: reason }).where(eq(leases.id, lease.id)).run();
  const open = db
    .select()
    .from(jobs)
    .where(and(eq(jobs.leaseId, lease.id), inArray(jobs.status, OPEN_JOB)))
    .all();
  const report = { requeued: 0, failed: 0, runIds: new Set<string>() };
  for (const job of open) {
    report.runIds.add(job.runId);
    const attempt = and(eq(jobAttempts.jobId, job.id), eq(jobAttempts.attempt, job.attempts));
    if (job.status === "leased" && reason === "released") {
      db.delete(jobAttempts).where(attempt).run();
      db.update(jobs)
        .set({ status: "queued", leaseId: null, agentId: null, attempts: job.attempts - 1 })
        .where(eq(jobs.id, job.id))
        .run();
      report.requeued++;
      continue;
    }
    const why = LOST_BECAUSE[reason] ?? reason;
    db.update(jobAttempts)
      .set({ status: "error", finishedAt: now, result: lostResult(why) })
      .where(attempt)
      .run();
    if (decideLostJob(job) === "requeue") {
      requeue(db, job, now);
      report.requeued++;
    } else {
      db.update(jobs)
        .set({ status: "error", finishedAt: now, result: lostResult(why) })
        .where(eq(jobs.id, job.id))
        .run();
      report.failed++;
    }
  }
  return report;
}

const LOST_BECAUSE: Record<string, string> = {
  released: "the agent released the job while it ran",
  expired: "agent lost: its lease expired without a heartbeat",
  restarted: "agent lost: it restarted while running the job",
  not_started: "the agent held the lease but started nothing within the lease-start bound",
};

/** Ends a lease the agent can no longer finish (it restarted, or was declared lost). */
export function expireLease(ctx: SqliteContext, leaseId: string, reason: string, now: number) {
  const report = ctx.db.transaction(
    (tx) => {
      const lease = tx.select().from(leases).where(eq(leases.id, leaseId)).get();
      return lease && lease.endedAt === null ? endLease(tx, lease, reason, now) : null;
    },
    { behavior: "immediate" },
  );
  if (report) publishSettled(ctx, report);
}

export function releaseLease(ctx: SqliteContext, leaseId: string, now: number): number {
  const report = ctx.db.transaction(
    (tx) => {
      const ended = tx.select().from(leases).where(eq(leases.id, leaseId)).get();
      // Releasing after the last result, or twice, is what a tidy agent does: nothing is left.
      if (ended?.endReason === "completed" || ended?.endReason === "released")
        return { requeued: 0, failed: 0, runIds: new Set<string>() };
      const lease = requireLiveLease(ctx, leaseId, now);
      return endLease(tx, lease, "released", now);
    },
    { behavior: "immediate" },
  );
  publishSettled(ctx, report);
  return report.requeued;
}

function publishSettled(ctx: SqliteContext, report: { requeued: number; runIds: Set<string> }) {
  if (report.requeued > 0) ctx.feed.publish("work");
  for (const runId of report.runIds) ctx.feed.publish(`run:${runId}`);
}

/** Settles expired leases, and ends jobs that ran far past their own timeout. */
export function reapExpired(ctx: SqliteContext, now: number): ReapReport {
  const { report, runIds } = ctx.db.transaction(
    (tx) => {
      const report: ReapReport = { expiredLeases: 0, requeued: 0, failed: 0, timedOut: 0 };
      const runIds = new Set<string>();
      const expired = tx
        .select()
        .from(leases)
        .where(and(isNull(leases.endedAt), lt(leases.expiresAt, now)))
        .all();
      for (const lease of expired) {
        const settled = endLease(tx, lease, "expired", now);
        report.expiredLeases++;
        report.requeued += settled.requeued;
        report.failed += settled.failed;
        for (const id of settled.runIds) runIds.add(id);
      }
      const overdue = tx
        .update(jobs)
        .set({
          status: "timed_out",
          finishedAt: now,
          result: lostResult("exceeded its timeout and the agent did not report"),
        })
        .where(
          and(
            eq(jobs.status, "running"),
            sql`${jobs.startedAt} + ${jobs.timeoutS} * 1000 + ${ctx.options.timeoutGraceMs} < ${now}`,
          ),
        )
        .returning({
          id: jobs.id,
          attempts: jobs.attempts,
          runId: jobs.runId,
          leaseId: jobs.leaseId,
        })
        .all();
      report.timedOut = overdue.length;
      for (const j of overdue) {
        runIds.add(j.runId);
        tx.update(jobAttempts)
          .set({ status: "timed_out", finishedAt: now })
          .where(and(eq(jobAttempts.jobId, j.id), eq(jobAttempts.attempt, j.attempts)))
          .run();
      }
      return { report, runIds };
    },
    { behavior: "immediate" },
  );
  publishSettled(ctx, { requeued: report.requeued, runIds });
  return report;
}
