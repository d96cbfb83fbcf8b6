/** What a start or a result post reads first on Postgres: the lease with the job it names. */
import { and, eq, sql, type Placeholder } from "drizzle-orm";
import { quarantineOfJob } from "./history.js";
import type { PgExec } from "./context.js";
import { agents, jobAttempts, jobs, leases, testHistory, testQuarantines } from "./schema.js";

/** Joins a job to its test's history row (history.ts `historyKey`). */
const historyOfJob = and(
  eq(testHistory.orgId, jobs.orgId),
  eq(testHistory.repo, sql`coalesce(${jobs.repo}, '')`),
  eq(testHistory.testPath, jobs.testPath),
  eq(testHistory.target, jobs.target),
);

/** A value a statement compares, or its placeholder in a prepared statement. */
export type Value<T> = T | Placeholder;

function select(
  db: PgExec,
  leaseId: Value<string>,
  jobId: Value<string>,
  attempt: Value<number>,
  now: Value<number>,
) {
  return db
    .select({
      lease: leases,
      job: jobs,
      attempt: jobAttempts,
      // With the id: drizzle reads a left-joined object whose fields are all null as no row.
      holder: { id: agents.id, orgId: agents.orgId, keyHash: agents.keyHash },
      quarantinedUntil: testQuarantines.expiresAt,
      history: testHistory,
    })
    .from(leases)
    .leftJoin(agents, eq(agents.id, leases.agentId))
    .leftJoin(jobs, eq(jobs.id, jobId))
    .leftJoin(
      jobAttempts,
      and(
        eq(jobAttempts.jobId, jobId),
        eq(jobAttempts.attempt, attempt),
        eq(jobAttempts.leaseId, leaseId),
      ),
    )
    .leftJoin(testQuarantines, quarantineOfJob(now))
    .leftJoin(testHistory, historyOfJob)
    .where(eq(leases.id, leaseId))
    .$dynamic();
}

/**
 * The unlocked read, built once per pool: building this many columns' SQL costs the server
 * more CPU than anything else in a start (0.9 ms a time, measured on a busy 2-core machine).
 */
function preparedRead(db: PgExec) {
  let read = prepared.get(db);
  if (!read) prepared.set(db, (read = prepare(db)));
  return read;
}

const prepared = new WeakMap<PgExec, ReturnType<typeof prepare>>();
const prepare = (db: PgExec) =>
  select(
    db,
    sql.placeholder("leaseId"),
    sql.placeholder("jobId"),
    sql.placeholder("attempt"),
    sql.placeholder("now"),
  ).prepare("qgjob_lease_and_job");

/**
 * The lease with one of its jobs, that job's attempt and its test's history row, in one
 * statement. With `lock` (in a transaction) only the lease row is locked (leases.ts, the
 * locking discipline); the lease's agent comes along for `requireHolder`. With no such lease
 * the job is not read: every caller then answers that the job was not found.
 */
export async function leaseAndJob(
  db: PgExec,
  leaseId: string,
  jobId: string,
  attempt: number,
  now: number,
  lock: boolean,
) {
  const [row] = lock
    ? await select(db, leaseId, jobId, attempt, now).for("update", { of: leases })
    : await preparedRead(db).execute({ leaseId, jobId, attempt, now });
  return {
    lease: row?.lease,
    job: row?.job ?? undefined,
    attempt: row?.attempt ?? undefined,
    holder: row?.holder,
    quarantinedUntil: row?.quarantinedUntil ?? null,
    history: row?.history ?? null,
  };
}

export type LeaseAndJob = Awaited<ReturnType<typeof leaseAndJob>>;
