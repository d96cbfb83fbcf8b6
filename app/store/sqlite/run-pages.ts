/** Bounded reads of a run: its counts alone, or a page of its jobs without their results' bulk. */
import { and, eq, getTableColumns, gt, sql } from "drizzle-orm";
import { decodeCursor, page } from "../cursor.js";
import { MESSAGE_HEAD_CHARS, summaryJob } from "../job-summary.js";
import type { OrgScope, RunPage, RunPageQuery, RunView } from "../store.js";
import type { SqliteContext } from "./context.js";
import { currentJobsOf, runColumns, runView } from "./runs.js";
import { jobs, runs } from "./schema.js";

function findRun(ctx: SqliteContext, id: string, scope: OrgScope) {
  const org = scope.orgId === null ? undefined : eq(runs.orgId, scope.orgId);
  return ctx.db
    .select(runColumns)
    .from(runs)
    .where(and(eq(runs.id, id), org))
    .get();
}

export function getRunView(ctx: SqliteContext, id: string, scope: OrgScope): RunView | null {
  const run = findRun(ctx, id, scope);
  return run ? runView(ctx, run) : null;
}

const { result: _result, ...jobColumns } = getTableColumns(jobs);
const resultHead = {
  hasResult: sql<number>`${jobs.result} is not null`.mapWith(Boolean),
  messageHead: sql<
    string | null
  >`substr(json_extract(${jobs.result}, '$.message'), 1, ${MESSAGE_HEAD_CHARS})`,
  file: sql<string | null>`json_extract(${jobs.result}, '$.file')`,
  line: sql<number | null>`json_extract(${jobs.result}, '$.line')`,
  artifactsCount: sql<number | null>`json_array_length(${jobs.result}, '$.artifacts')`,
  artifactsDropped: sql<number | null>`json_extract(${jobs.result}, '$.artifacts_dropped')`,
};

export function getRunPage(
  ctx: SqliteContext,
  id: string,
  scope: OrgScope,
  q: RunPageQuery,
): RunPage | null {
  const run = findRun(ctx, id, scope);
  if (!run) return null;
  const after = q.cursor === undefined ? undefined : gt(jobs.id, decodeCursor(q.cursor));
  const rows = ctx.db
    .select({ ...jobColumns, ...resultHead })
    .from(jobs)
    .where(and(currentJobsOf(id), after))
    .orderBy(jobs.id)
    .limit(q.limit + 1)
    .all();
  const { items, nextCursor } = page(rows.map(summaryJob), q.limit);
  return { ...runView(ctx, run), jobs: items, nextCursor };
}
