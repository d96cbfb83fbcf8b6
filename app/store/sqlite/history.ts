/** Test history and quarantines on SQLite (app/store/history.ts folds the rows). */
import { and, desc, eq, gt, lt, or, sql, type SQL } from "drizzle-orm";
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
import type { SqliteContext, SqliteExec } from "./context.js";
import { testHistory, testQuarantines } from "./schema.js";

const inForce = (now: number) => gt(testQuarantines.expiresAt, now);

function quarantineOf(db: SqliteExec, orgId: string, testPath: string, now: number) {
  return (
    db
      .select()
      .from(testQuarantines)
      .where(
        and(eq(testQuarantines.orgId, orgId), eq(testQuarantines.testPath, testPath), inForce(now)),
      )
      .get() ?? null
  );
}

/** The history row's columns, in the order of HISTORY_UPSERT's placeholders; JSON ones marked. */
const COLUMNS: [keyof TestHistoryRecord, string, "json"?][] = [
  ["id", "id"],
  ["orgId", "org_id"],
  ["repo", "repo"],
  ["testPath", "test_path"],
  ["target", "target"],
  ["runs", "runs"],
  ["passed", "passed"],
  ["failed", "failed"],
  ["flaky", "flaky"],
  ["errors", "errors"],
  ["recent", "recent"],
  ["durations", "durations", "json"],
  ["flakeRate", "flake_rate"],
  ["failureRate", "failure_rate"],
  ["p50Ms", "p50_ms"],
  ["p95Ms", "p95_ms"],
  ["durationChangeMs", "duration_change_ms"],
  ["firstSeenAt", "first_seen_at"],
  ["lastRunAt", "last_run_at"],
  ["lastPassedAt", "last_passed_at"],
  ["lastFailedAt", "last_failed_at"],
  ["recentRuns", "recent_runs", "json"],
  ["lastFailures", "last_failures", "json"],
];
// Prepared by text (better-sqlite3 caches statements per text, database.ts): building these with
// drizzle on every result cost more than running them.
const HISTORY_READ = `select ${COLUMNS.map(([, c]) => c).join(", ")} from test_history
  where org_id = ? and repo = ? and test_path = ? and target = ?`;
const HISTORY_UPSERT = `insert into test_history (${COLUMNS.map(([, c]) => c).join(", ")})
  values (${COLUMNS.map(() => "?").join(", ")})
  on conflict (org_id, repo, test_path, target) do update set
  ${COLUMNS.slice(5)
    .map(([, c]) => `${c} = excluded.${c}`)
    .join(", ")}`;
const QUARANTINE_READ = `select expires_at from test_quarantines
  where org_id = ? and test_path = ? and expires_at > ?`;

function fromRow(row: Record<string, unknown>): TestHistoryRecord {
  const out: Record<string, unknown> = {};
  for (const [key, column, json] of COLUMNS) {
    out[key] = json ? JSON.parse(row[column] as string) : row[column];
  }
  return out as unknown as TestHistoryRecord;
}

/**
 * Folds a job's final result into its test's history, in the result's transaction. A job whose
 * test is quarantined now is marked so (its run's verdict reads the mark, never the quarantine
 * as it is later); the automatic rule may quarantine the test. Answers the job as marked.
 */
export function recordTestHistory(ctx: SqliteContext, job: JobRecord, now: number): JobRecord {
  const quarantine = ctx.raw.prepare(QUARANTINE_READ).get(job.orgId, job.testPath, now) as
    { expires_at: number } | undefined;
  if (quarantine) {
    ctx.raw
      .prepare("update jobs set quarantined_until = ? where id = ?")
      .run(quarantine.expires_at, job.id);
    job = { ...job, quarantinedUntil: quarantine.expires_at };
  }
  const key = historyKey(job);
  const prior = ctx.raw.prepare(HISTORY_READ).get(key.orgId, key.repo, key.testPath, key.target);
  const row = foldTestResult(
    prior ? fromRow(prior as Record<string, unknown>) : null,
    job,
    newId("tst", now),
    now,
  );
  if (!row) return job;
  ctx.raw
    .prepare(HISTORY_UPSERT)
    .run(...COLUMNS.map(([k, , json]) => (json ? JSON.stringify(row[k]) : row[k])));
  const auto = quarantine ? null : ruleQuarantine(row, ctx.options.quarantineRule, now);
  if (auto) putQuarantine(ctx.db, auto);
  return job;
}

/** The lease's jobs, previously failed and never-seen tests first (history.ts failedFirst). */
export function orderByHistory(ctx: SqliteContext, claimed: JobRecord[]): JobRecord[] {
  if (ctx.options.failedFirst === false || claimed.length < 2) return claimed;
  const recent = new Map<string, string>();
  for (const repo of new Set(claimed.map((j) => j.repo ?? ""))) {
    const paths = claimed.filter((j) => (j.repo ?? "") === repo).map((j) => j.testPath);
    const first = claimed[0]!;
    const rows = ctx.raw
      .prepare(
        `select test_path, recent from test_history where org_id = ? and repo = ? and target = ?
           and test_path in (${paths.map(() => "?").join(", ")})`,
      )
      .all(first.orgId, repo, first.target, ...paths) as { test_path: string; recent: string }[];
    for (const r of rows) recent.set(`${repo}\n${r.test_path}`, r.recent);
  }
  return failedFirst(claimed, (j) => recent.get(`${j.repo ?? ""}\n${j.testPath}`));
}

function putQuarantine(db: SqliteExec, q: QuarantineRecord) {
  const { orgId: _o, testPath: _t, ...rest } = q;
  db.insert(testQuarantines)
    .values(q)
    .onConflictDoUpdate({ target: [testQuarantines.orgId, testQuarantines.testPath], set: rest })
    .run();
}

const SORT_COLUMN = {
  flake_rate: testHistory.flakeRate,
  failure_rate: testHistory.failureRate,
  duration: testHistory.p95Ms,
  duration_change: testHistory.durationChangeMs,
} as const;

function withQuarantines(ctx: SqliteContext, rows: TestHistoryRecord[], now: number): TestView[] {
  return rows.map((row) => ({
    ...row,
    quarantine: quarantineOf(ctx.db, row.orgId, row.testPath, now),
  }));
}

export function listTests(
  ctx: SqliteContext,
  q: ListTestsQuery,
  scope: OrgScope,
  now: number,
): { items: TestView[]; nextCursor: string | null } {
  if (scope.orgId !== null && q.org_id !== undefined && q.org_id !== scope.orgId) {
    return { items: [], nextCursor: null };
  }
  const column = SORT_COLUMN[q.sort];
  const after = q.cursor === undefined ? undefined : decodeTestCursor(q.cursor);
  const quarantined = sql`exists (select 1 from ${testQuarantines} where ${testQuarantines.orgId} = ${testHistory.orgId} and ${testQuarantines.testPath} = ${testHistory.testPath} and ${testQuarantines.expiresAt} > ${now})`;
  const hasFlaky = sql`instr(${testHistory.recent}, 'k') > 0`;
  const where: (SQL | undefined)[] = [
    scope.orgId === null ? undefined : eq(testHistory.orgId, scope.orgId),
    q.org_id === undefined ? undefined : eq(testHistory.orgId, q.org_id),
    q.repo === undefined ? undefined : eq(testHistory.repo, q.repo),
    q.target === undefined ? undefined : eq(testHistory.target, q.target),
    q.path === undefined ? undefined : sql`instr(${testHistory.testPath}, ${q.path}) > 0`,
    q.flaky === undefined ? undefined : q.flaky ? hasFlaky : sql`not ${hasFlaky}`,
    q.quarantined === undefined ? undefined : q.quarantined ? quarantined : sql`not ${quarantined}`,
    after === undefined
      ? undefined
      : or(lt(column, after.value), and(eq(column, after.value), lt(testHistory.id, after.id))),
  ];
  const rows = ctx.db
    .select()
    .from(testHistory)
    .where(and(...where))
    .orderBy(desc(column), desc(testHistory.id))
    .limit(q.limit + 1)
    .all();
  const { items, nextCursor } = testPage(rows, q.limit, q.sort);
  return { items: withQuarantines(ctx, items, now), nextCursor };
}

export function getTest(
  ctx: SqliteContext,
  id: string,
  scope: OrgScope,
  now: number,
): TestView | null {
  const row = ctx.db
    .select()
    .from(testHistory)
    .where(
      and(
        eq(testHistory.id, id),
        scope.orgId === null ? undefined : eq(testHistory.orgId, scope.orgId),
      ),
    )
    .get();
  return row ? withQuarantines(ctx, [row], now)[0]! : null;
}

export function quarantineTest(ctx: SqliteContext, q: QuarantineRecord): QuarantineRecord {
  putQuarantine(ctx.db, q);
  return q;
}

/** Ends the test's quarantine now; false when none was in force. */
export function unquarantineTest(
  ctx: SqliteContext,
  orgId: string,
  testPath: string,
  now: number,
): boolean {
  const ended = ctx.db
    .delete(testQuarantines)
    .where(
      and(eq(testQuarantines.orgId, orgId), eq(testQuarantines.testPath, testPath), inForce(now)),
    )
    .returning()
    .all();
  return ended.length > 0;
}

export function listQuarantines(
  ctx: SqliteContext,
  scope: OrgScope,
  now: number,
): QuarantineRecord[] {
  return ctx.db
    .select()
    .from(testQuarantines)
    .where(
      and(scope.orgId === null ? undefined : eq(testQuarantines.orgId, scope.orgId), inForce(now)),
    )
    .orderBy(testQuarantines.expiresAt)
    .all();
}
