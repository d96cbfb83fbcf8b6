/** Bounded reads of a run: its counts alone, or a page of its jobs without their results' bulk. */
import { and, eq, getTableColumns, gt, sql } from "drizzle-orm";
import { decodeCursor, page } from "../cursor.js";
import { MESSAGE_HEAD_CHARS, summaryJob } from "../job-summary.js";
import type { OrgScope, RunPage, RunPageQuery, RunView } from "../store.js";
import type { PgExec } from "./context.js";
import { currentJobsOf, runColumns, runView } from "./runs.js";
import { jobs, runs } from "./schema.js";

async function findRun(db: PgExec, id: string, scope: OrgScope) {
  const org = scope.orgId === null ? undefined : eq(runs.orgId, scope.orgId);
  const [run] = await db
    .select(runColumns)
    .from(runs)
    .where(and(eq(runs.id, id), org));
  return run;
}

export async function getRunView(db: PgExec, id: string, scope: OrgScope): Promise<RunView | null> {
  const run = await findRun(db, id, scope);
  return run ? runView(db, run) : null;
}

const { result: _result, ...jobColumns } = getTableColumns(jobs);
const resultHead = {
  hasResult: sql<boolean>`${jobs.result} is not null`,
  messageHead: sql<string | null>`left(${jobs.result}->>'message', ${MESSAGE_HEAD_CHARS})`,
  file: sql<string | null>`${jobs.result}->>'file'`,
  line: sql<number | null>`(${jobs.result}->>'line')::int`,
  artifactsCount: sql<
    number | null
  >`jsonb_array_length(coalesce(${jobs.result}->'artifacts', '[]'::jsonb))`,
  artifactsDropped: sql<number | null>`(${jobs.result}->>'artifacts_dropped')::int`,
};

/**
 * A page and the run's counts from one snapshot (REPEATABLE READ): read apart, a job ending
 * between the two would show a finished run whose page still has the job open, and a watcher
 * that stops at the run's end (run-hub.ts) would never hear of the job's last change.
 */
export function getRunPage(
  db: PgExec,
  id: string,
  scope: OrgScope,
  q: RunPageQuery,
): Promise<RunPage | null> {
  return db.transaction((tx) => readRunPage(tx, id, scope, q), {
    isolationLevel: "repeatable read",
    accessMode: "read only",
  });
}

async function readRunPage(
  db: PgExec,
  id: string,
  scope: OrgScope,
  q: RunPageQuery,
): Promise<RunPage | null> {
  const run = await findRun(db, id, scope);
  if (!run) return null;
  const after = q.cursor === undefined ? undefined : gt(jobs.id, decodeCursor(q.cursor));
  const rows = await db
    .select({ ...jobColumns, ...resultHead })
    .from(jobs)
    .where(and(currentJobsOf(id), after))
    .orderBy(jobs.id)
    .limit(q.limit + 1);
  const { items, nextCursor } = page(rows.map(summaryJob), q.limit);
  return { ...(await runView(db, run)), jobs: items, nextCursor };
}
