/**
 * Point reads of the lease cycle (start, result, heartbeat) and a result's writes, prepared
 * once per database.
 * drizzle builds a query's SQL anew on every call, which was most of a cycle's CPU; a prepared
 * query skips that and still maps rows as the schema says. They run on the connection, so
 * inside a transaction too.
 */
import { and, eq, sql } from "drizzle-orm";
import type { SqliteContext } from "./context.js";
import { agents, jobAttempts, jobs, leases, orgUsage, testDurations } from "./schema.js";

const byContext = new WeakMap<SqliteContext, ReturnType<typeof prepare>>();

function prepare(ctx: SqliteContext) {
  const db = ctx.db;
  return {
    job: db
      .select()
      .from(jobs)
      .where(eq(jobs.id, sql.placeholder("id")))
      .prepare(),
    lease: db
      .select()
      .from(leases)
      .where(eq(leases.id, sql.placeholder("id")))
      .prepare(),
    leaseHolder: db
      .select({ orgId: agents.orgId, keyHash: agents.keyHash })
      .from(leases)
      .innerJoin(agents, eq(agents.id, leases.agentId))
      .where(eq(leases.id, sql.placeholder("id")))
      .prepare(),
    attempt: db
      .select()
      .from(jobAttempts)
      .where(
        and(
          eq(jobAttempts.jobId, sql.placeholder("jobId")),
          eq(jobAttempts.attempt, sql.placeholder("attempt")),
          eq(jobAttempts.leaseId, sql.placeholder("leaseId")),
        ),
      )
      .prepare(),
    testDuration: db
      .select()
      .from(testDurations)
      .where(
        and(
          eq(testDurations.orgId, sql.placeholder("orgId")),
          eq(testDurations.testPath, sql.placeholder("testPath")),
          eq(testDurations.target, sql.placeholder("target")),
        ),
      )
      .prepare(),
    orgUsage: db
      .select()
      .from(orgUsage)
      .where(eq(orgUsage.orgId, sql.placeholder("orgId")))
      .prepare(),
    ...resultWrites(ctx),
  };
}

/** A result's attempt and job as rules.ts `finalFields` writes them (JSON and booleans encoded). */
function resultWrites(ctx: SqliteContext) {
  const { db } = ctx;
  const p = sql.placeholder;
  return {
    closeAttempt: db
      .update(jobAttempts)
      .set({
        status: sql`${p("status")}`,
        finishedAt: sql`${p("finishedAt")}`,
        durationMs: sql`${p("durationMs")}`,
        result: sql`${p("result")}`,
      })
      .where(and(eq(jobAttempts.jobId, p("jobId")), eq(jobAttempts.attempt, p("attempt"))))
      .prepare(),
    finishJob: db
      .update(jobs)
      .set({
        status: sql`${p("status")}`,
        flaky: sql`${p("flaky")}`,
        finishedAt: sql`${p("finishedAt")}`,
        durationMs: sql`${p("durationMs")}`,
        result: sql`${p("result")}`,
        testFailures: sql`${p("testFailures")}`,
      })
      .where(eq(jobs.id, p("id")))
      .returning()
      .prepare(),
  };
}

export function lookups(ctx: SqliteContext) {
  let prepared = byContext.get(ctx);
  if (!prepared) {
    prepared = prepare(ctx);
    byContext.set(ctx, prepared);
  }
  return prepared;
}
