/**
 * The claim's statements (leases.ts, queued.ts), prepared once per database as lookups.ts's
 * are: a claim runs a dozen of them, and drizzle rebuilding their SQL on every call was a
 * quarter of a SQLite lease cycle's CPU. Lists (the claimed job ids) go as one JSON parameter.
 */
import { and, asc, desc, eq, getTableColumns, gt, inArray, isNull, sql } from "drizzle-orm";
import { HELD_STATUSES } from "../../../api/status.js";
import type { SqliteContext } from "./context.js";
import { runInputsOfJob } from "./run-inputs.js";
import { agents, jobAttempts, jobs, leases, orgUsage, testDurations } from "./schema.js";

const p = sql.placeholder;

/** Joins a job to its test file's duration history on the same target. */
export const historyOfJob = and(
  eq(testDurations.orgId, jobs.orgId),
  eq(testDurations.testPath, jobs.testPath),
  eq(testDurations.target, jobs.target),
);

/** A queued job's fields the scheduler weighs, with its test file's duration history. */
export const queuedJobColumns = {
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
};

const byContext = new WeakMap<SqliteContext, ReturnType<typeof prepare>>();

const liveLease = and(isNull(leases.endedAt), gt(leases.expiresAt, p("now")));

function prepare(ctx: SqliteContext) {
  return { ...viewReads(ctx), ...groupReads(ctx), ...claimWrites(ctx) };
}

const expectedOf = (ctx: SqliteContext) =>
  sql<number>`coalesce(${testDurations.ewmaMs}, ${ctx.options.scheduler.defaultTestMs})`;

/** The agent, its live lease, and the usage and fleet the scheduler weighs. */
function viewReads(ctx: SqliteContext) {
  const { db } = ctx;
  const expected = expectedOf(ctx);
  return {
    agent: db
      .select()
      .from(agents)
      .where(eq(agents.id, p("id")))
      .prepare(),
    seen: db
      .update(agents)
      .set({ lastSeenAt: sql`${p("now")}` })
      .where(eq(agents.id, p("id")))
      .prepare(),
    heldLease: db
      .select({ id: leases.id })
      .from(leases)
      .where(and(eq(leases.agentId, p("agentId")), liveLease))
      .prepare(),
    inFlight: db
      .select({ orgId: jobs.orgId, ms: sql<number>`sum(${expected})` })
      .from(jobs)
      .leftJoin(testDurations, historyOfJob)
      .where(inArray(jobs.status, [...HELD_STATUSES]))
      .groupBy(jobs.orgId)
      .prepare(),
    usage: db.select().from(orgUsage).prepare(),
    // Every live agent of the target, counted by its org and its live lease's (fleet.ts).
    fleetCounts: db
      .select({ agentOrg: agents.orgId, leaseOrg: leases.orgId, n: sql<number>`count(*)` })
      .from(agents)
      .leftJoin(leases, and(eq(leases.agentId, agents.id), liveLease))
      .where(and(eq(agents.target, p("target")), gt(agents.lastSeenAt, p("aliveSince"))))
      .groupBy(agents.orgId, leases.orgId)
      .prepare(),
  };
}

/** The chosen group's total expected work and its first jobs, for one agent. */
function groupReads(ctx: SqliteContext) {
  const { db } = ctx;
  const expected = expectedOf(ctx);
  // The chosen group's jobs this agent may take: a job for a device runs only on that device,
  // and one that just failed on this agent for infrastructure reasons tries others first.
  const claimable = and(
    eq(jobs.status, "queued"),
    eq(jobs.groupKey, p("groupKey")),
    sql`(${jobs.device} is null or ${jobs.device} = ${p("device")})`,
    sql`not (coalesce(${jobs.avoidAgentId} = ${p("agentId")}, 0) and ${jobs.requeuedAt} > ${p("avoidSince")})`,
  );
  return {
    groupWork: db
      .select({ workMs: sql<number | null>`sum(${expected})` })
      .from(jobs)
      .leftJoin(testDurations, historyOfJob)
      .where(claimable)
      .prepare(),
    // The order a device runs a group's jobs in: starving first, then as compareJobs sorts.
    groupFirst: db
      .select(queuedJobColumns)
      .from(jobs)
      .leftJoin(testDurations, historyOfJob)
      .where(claimable)
      .orderBy(
        desc(sql`${jobs.queuedAt} <= ${p("starvingSince")}`),
        desc(jobs.priority),
        desc(expected),
        asc(jobs.queuedAt),
        asc(jobs.id),
      )
      .limit(p("limit"))
      .prepare(),
  };
}

/** The lease, the claim's compare-and-set, the attempts and the agent's installed versions. */
function claimWrites(ctx: SqliteContext) {
  const { db } = ctx;
  return {
    insertLease: db
      .insert(leases)
      .values({
        id: p("id"),
        agentId: p("agentId"),
        orgId: p("orgId"),
        appVersionId: p("appVersionId"),
        target: p("target"),
        groupKey: p("groupKey"),
        install: p("install"),
        createdAt: p("createdAt"),
        expiresAt: p("expiresAt"),
      })
      .prepare(),
    // The claim itself: one compare-and-set statement. `status = 'queued'` guards every row,
    // and BEGIN IMMEDIATE has already serialised writers, so no job can be claimed twice.
    claimJobs: db
      .update(jobs)
      .set({
        status: "leased",
        leaseId: sql`${p("leaseId")}`,
        agentId: sql`${p("agentId")}`,
        attempts: sql`${jobs.attempts} + 1`,
        avoidAgentId: null,
      })
      // Unary + keeps the planner on the primary key: given `status = ?` it would otherwise
      // walk jobs_partition_queue, every queued job, to find these few.
      .where(
        and(
          sql`${jobs.id} in (select value from json_each(${p("ids")}))`,
          sql`+${jobs.status} = 'queued'`,
        ),
      )
      // The runs' bundles and builds the agent needs come back with the jobs: no read after.
      .returning({ ...getTableColumns(jobs), ...runInputsOfJob })
      .prepare(),
    insertAttempt: db
      .insert(jobAttempts)
      .values({
        jobId: p("jobId"),
        attempt: p("attempt"),
        leaseId: sql`${p("leaseId")}`,
        agentId: sql`${p("agentId")}`,
        status: "leased",
      })
      .prepare(),
    // `installed` is the agent's list as JSON text: a bare placeholder is not allowed in set().
    installed: db
      .update(agents)
      .set({ installed: sql`${p("installed")}` })
      .where(eq(agents.id, p("id")))
      .prepare(),
  };
}

export function claimQueries(ctx: SqliteContext) {
  let prepared = byContext.get(ctx);
  if (!prepared) {
    prepared = prepare(ctx);
    byContext.set(ctx, prepared);
  }
  return prepared;
}
