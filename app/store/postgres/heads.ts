/**
 * queue_groups reads of the bounded claim (heads.ts) on Postgres: each step of the read plan is
 * one statement. The bounded read walks the orgs with work by a recursive skip scan and takes
 * each org's rows by LATERAL index scans that stop at their limit.
 */
import { sql, type SQL } from "drizzle-orm";
import {
  groupKeyOf,
  strategyKeyRange,
  type GroupedJob,
  type HeadQuery,
  type HeadReads,
  type HeadRow,
} from "../heads.js";
import type { GroupingStrategy } from "../../scheduler/types.js";
import type { PgExec } from "./context.js";

const COLUMNS = sql.raw(`group_key as "groupKey", device_key as "deviceKey", target,
  org_id as "orgId", app_version_id as "appVersionId", priority,
  oldest_queued_at::float8 as "oldestQueuedAt"`);

async function rows(db: PgExec, query: SQL): Promise<HeadRow[]> {
  return ((await db.execute(query)) as unknown as { rows: HeadRow[] }).rows;
}

const list = (values: readonly string[]) =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

/**
 * The bounded read of `query`'s candidate heads: the orgs with work by a recursive skip scan,
 * each org's first rows by LATERAL index scans, and the groups of the installed versions.
 */
export function boundedHeads(query: HeadQuery, deviceKey: string, limit: number): SQL {
  const { target, orgId } = query;
  const orgs =
    orgId !== null
      ? sql`select ${orgId}::text as org`
      : sql`(select org_id from queue_groups where target = ${target} and device_key = ${deviceKey}
             order by org_id limit 1)
            union all
            select (select org_id from queue_groups
                    where target = ${target} and device_key = ${deviceKey} and org_id > orgs.org
                    order by org_id limit 1)
            from orgs where orgs.org is not null`;
  const perOrg = (orderBy: string) => sql`(select ${COLUMNS} from queue_groups
    where target = ${target} and device_key = ${deviceKey} and org_id = orgs.org
      and app_version_id <> all(installed.versions)
    order by ${sql.raw(orderBy)} limit ${limit})`;
  // The installed versions' groups, one index lookup each (queue_groups_version): as a
  // filter over the target's groups, the planner may scan every one of them.
  const ofInstalled = query.installed.length
    ? sql`union all
      select c.* from jsonb_array_elements_text(${JSON.stringify(query.installed)}::jsonb) v(version),
      lateral (select ${COLUMNS} from queue_groups where app_version_id = v.version
        and target = ${target} and device_key = ${deviceKey}
        and (${orgId}::text is null or org_id = ${orgId})) c`
    : sql``;
  return sql`with recursive orgs(org) as (${orgs}), installed as (select ${list(query.installed)} as versions)
    select c.* from orgs, installed, lateral (
      ${perOrg("oldest_queued_at, priority desc nulls last, group_key")}
      union all
      ${perOrg("priority desc nulls last, oldest_queued_at, group_key")}
    ) c where orgs.org is not null
    ${ofInstalled}`;
}

/**
 * The heads `heads` reads and, in the same statement, `also` (a JSON value) when there are any:
 * a claim gets the scheduler's other inputs without another round trip, and an empty poll does
 * not compute them.
 */
export async function headsAnd<T>(
  db: PgExec,
  heads: SQL,
  also: SQL,
): Promise<{ rows: HeadRow[]; also: T | null }> {
  const result = (await db.execute(
    sql`with heads as (${heads})
      select coalesce((select json_agg(heads) from heads), '[]') as rows,
        case when exists (select 1 from heads) then ${also} end as also`,
  )) as unknown as { rows: [{ rows: HeadRow[]; also: T | null }] };
  return result.rows[0];
}

export function headReads(db: PgExec): HeadReads<Promise<HeadRow[]>> {
  return {
    bounded: (query, deviceKey, limit) => rows(db, boundedHeads(query, deviceKey, limit)),
    all: (query, deviceKey) =>
      rows(
        db,
        sql`select ${COLUMNS} from queue_groups where target = ${query.target}
          and device_key = ${deviceKey} and (${query.orgId}::text is null or org_id = ${query.orgId})`,
      ),
    siblings: (groupKeys, deviceKey) =>
      rows(
        db,
        sql`select ${COLUMNS} from queue_groups
          where group_key = any(${list(groupKeys)}) and device_key = ${deviceKey}`,
      ),
  };
}

/**
 * Gives queued jobs the group key of this store's strategy where they have another (see the
 * SQLite engine's regroupQueued). Replicas opening together may both do it: the same keys.
 */
export async function regroupQueued(db: PgExec, strategy: GroupingStrategy) {
  const { from, to } = strategyKeyRange(strategy);
  const stale = (
    (await db.execute(
      sql`select id, org_id as "orgId", app_version_id as "appVersionId", target, device, repo,
            tags, priority
          from jobs where status = 'queued' and (group_key < ${from} or group_key >= ${to})`,
    )) as unknown as { rows: (GroupedJob & { id: string })[] }
  ).rows;
  for (let i = 0; i < stale.length; i += 500) {
    const chunk = stale.slice(i, i + 500);
    const keys = chunk.map((job) => ({ id: job.id, key: groupKeyOf(strategy, job) }));
    await db.execute(
      sql`update jobs set group_key = k.key
          from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k(id text, key text)
          where jobs.id = k.id and jobs.status = 'queued'`,
    );
  }
}
