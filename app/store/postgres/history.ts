/** Test history and quarantines on Postgres (app/store/history.ts folds the rows). */
import { and, desc, eq, gt, inArray, lt, or, sql, type Placeholder, type SQL } from "drizzle-orm";
import type { ListTestsQuery } from "../../../api/schemas.js";
import { newId } from "../../ids.js";
import {
  decodeTestCursor,
  failedFirst,
  foldTestResult,
  historyKey,
  ruleQuarantine,
  testPage,
} from "../history.js";
import type {
  JobRecord,
  OrgScope,
  QuarantineRecord,
  TestHistoryRecord,
  TestView,
} from "../store.js";
import { ctes, inOneStatement, type PgContext, type PgExec } from "./context.js";
import { jobs, testHistory, testQuarantines } from "./schema.js";

const inForce = (now: number | Placeholder) => gt(testQuarantines.expiresAt, now);

/** The lease's jobs, previously failed and never-seen tests first (history.ts failedFirst). */
export async function orderByHistory(
  tx: PgExec,
  ctx: PgContext,
  claimed: JobRecord[],
): Promise<JobRecord[]> {
  if (ctx.options.failedFirst === false || claimed.length < 2) return claimed;
  const recent = new Map<string, string>();
  for (const repo of new Set(claimed.map((j) => j.repo ?? ""))) {
    const first = claimed[0]!;
    const paths = claimed.filter((j) => (j.repo ?? "") === repo).map((j) => j.testPath);
    const rows = await tx
      .select({ testPath: testHistory.testPath, recent: testHistory.recent })
      .from(testHistory)
      .where(
        and(
          eq(testHistory.orgId, first.orgId),
          eq(testHistory.repo, repo),
          eq(testHistory.target, first.target),
          inArray(testHistory.testPath, paths),
        ),
      );
    for (const r of rows) recent.set(`${repo}\n${r.testPath}`, r.recent);
  }
  return failedFirst(claimed, (j) => recent.get(`${j.repo ?? ""}\n${j.testPath}`));
}

async function quarantineOf(db: PgExec, orgId: string, testPath: string, now: number) {
  const [row] = await db
    .select()
    .from(testQuarantines)
    .where(
      and(eq(testQuarantines.orgId, orgId), eq(testQuarantines.testPath, testPath), inForce(now)),
    );
  return row ?? null;
}

/** Joins a job to its test's quarantine in force at `now`. */
export const quarantineOfJob = (now: number | Placeholder) =>
  and(
    eq(testQuarantines.orgId, jobs.orgId),
    eq(testQuarantines.testPath, jobs.testPath),
    inForce(now),
  );

/**
 * Folds a job's final result into its test's history, in the result's transaction (see the
 * SQLite module). `quarantinedUntil`: the test's quarantine in force, read with the job. The
 * row is locked (or created) before it is folded, so results of one test posted at once on
 * several replicas fold one after the other. `alsoWrite` rides on the last statement.
 */
export async function recordTestHistory(
  tx: PgExec,
  ctx: PgContext,
  job: JobRecord,
  now: number,
  quarantinedUntil: number | null,
  alsoWrite: SQL[] = [],
): Promise<JobRecord> {
  const writes = [...alsoWrite];
  if (quarantinedUntil !== null) {
    writes.push(tx.update(jobs).set({ quarantinedUntil }).where(eq(jobs.id, job.id)).getSQL());
    job = { ...job, quarantinedUntil };
  }
  const key = historyKey(job);
  const [prior] = await tx
    .select()
    .from(testHistory)
    .where(
      and(
        eq(testHistory.orgId, key.orgId),
        eq(testHistory.repo, key.repo),
        eq(testHistory.testPath, key.testPath),
        eq(testHistory.target, key.target),
      ),
    )
    .for("update");
  const row = foldTestResult(prior ?? null, job, prior?.id ?? newId("tst", now), now);
  if (!row) {
    if (writes.length) await inOneStatement(tx, writes);
    return job;
  }
  if (prior) {
    await tx
      .with(...ctes(tx, writes))
      .update(testHistory)
      .set(row)
      .where(eq(testHistory.id, row.id));
  } else {
    // The new row goes in alone, and the other writes after it: every result locks the history
    // row before the duration and usage rows it shares with other tests' results. Writing them
    // first here deadlocked with a result folding into the row another one had just created.
    const [created] = await tx
      .insert(testHistory)
      .values(row)
      .onConflictDoNothing()
      .returning({ id: testHistory.id });
    // Another result of the test created the row after the read: fold into that one.
    if (!created) return recordTestHistory(tx, ctx, job, now, quarantinedUntil, alsoWrite);
    if (writes.length) await inOneStatement(tx, writes);
  }
  const auto =
    quarantinedUntil !== null ? null : ruleQuarantine(row, ctx.options.quarantineRule, now);
  if (auto) await putQuarantine(tx, auto);
  return job;
}

async function putQuarantine(db: PgExec, q: QuarantineRecord) {
  const { orgId: _o, testPath: _t, ...rest } = q;
  await db
    .insert(testQuarantines)
    .values(q)
    .onConflictDoUpdate({ target: [testQuarantines.orgId, testQuarantines.testPath], set: rest });
}

const SORT_COLUMN = {
  flake_rate: testHistory.flakeRate,
  failure_rate: testHistory.failureRate,
  duration: testHistory.p95Ms,
  duration_change: testHistory.durationChangeMs,
} as const;

async function withQuarantines(
  db: PgExec,
  rows: TestHistoryRecord[],
  now: number,
): Promise<TestView[]> {
  return Promise.all(
    rows.map(async (row) => ({
      ...row,
      quarantine: await quarantineOf(db, row.orgId, row.testPath, now),
    })),
  );
}

export async function listTests(
  db: PgExec,
  q: ListTestsQuery,
  scope: OrgScope,
  now: number,
): Promise<{ items: TestView[]; nextCursor: string | null }> {
  if (scope.orgId !== null && q.org_id !== undefined && q.org_id !== scope.orgId) {
    return { items: [], nextCursor: null };
  }
  const column = SORT_COLUMN[q.sort];
  const after = q.cursor === undefined ? undefined : decodeTestCursor(q.cursor);
  const quarantined = sql`exists (select 1 from ${testQuarantines} where ${testQuarantines.orgId} = ${testHistory.orgId} and ${testQuarantines.testPath} = ${testHistory.testPath} and ${testQuarantines.expiresAt} > ${now})`;
  const hasFlaky = sql`strpos(${testHistory.recent}, 'k') > 0`;
  const where: (SQL | undefined)[] = [
    scope.orgId === null ? undefined : eq(testHistory.orgId, scope.orgId),
    q.org_id === undefined ? undefined : eq(testHistory.orgId, q.org_id),
    q.repo === undefined ? undefined : eq(testHistory.repo, q.repo),
    q.target === undefined ? undefined : eq(testHistory.target, q.target),
    q.path === undefined ? undefined : sql`strpos(${testHistory.testPath}, ${q.path}) > 0`,
    q.flaky === undefined ? undefined : q.flaky ? hasFlaky : sql`not ${hasFlaky}`,
    q.quarantined === undefined ? undefined : q.quarantined ? quarantined : sql`not ${quarantined}`,
    after === undefined
      ? undefined
      : or(lt(column, after.value), and(eq(column, after.value), lt(testHistory.id, after.id))),
  ];
  const rows = await db
    .select()
    .from(testHistory)
    .where(and(...where))
    .orderBy(desc(column), desc(testHistory.id))
    .limit(q.limit + 1);
  const { items, nextCursor } = testPage(rows, q.limit, q.sort);
  return { items: await withQuarantines(db, items, now), nextCursor };
}

export async function getTest(
  db: PgExec,
  id: string,
  scope: OrgScope,
  now: number,
): Promise<TestView | null> {
  const [row] = await db
    .select()
    .from(testHistory)
    .where(
      and(
        eq(testHistory.id, id),
        scope.orgId === null ? undefined : eq(testHistory.orgId, scope.orgId),
      ),
    );
  return row ? (await withQuarantines(db, [row], now))[0]! : null;
}

export async function quarantineTest(db: PgExec, q: QuarantineRecord): Promise<QuarantineRecord> {
  await putQuarantine(db, q);
  return q;
}

export async function unquarantineTest(
  db: PgExec,
  orgId: string,
  testPath: string,
  now: number,
): Promise<boolean> {
  const ended = await db
    .delete(testQuarantines)
    .where(
      and(eq(testQuarantines.orgId, orgId), eq(testQuarantines.testPath, testPath), inForce(now)),
    )
    .returning();
  return ended.length > 0;
}

export function listQuarantines(
  db: PgExec,
  scope: OrgScope,
  now: number,
): Promise<QuarantineRecord[]> {
  return db
    .select()
    .from(testQuarantines)
    .where(
      and(scope.orgId === null ? undefined : eq(testQuarantines.orgId, scope.orgId), inForce(now)),
    )
    .orderBy(testQuarantines.expiresAt);
}
