/**
 * queue_groups reads of the bounded claim (heads.ts), prepared once per database. In process a
 * statement costs microseconds, so the rows of each org are read by a statement of their own;
 * every one walks an index of queue_groups and stops at its limit.
 */
import {
  groupKeyOf,
  strategyKeyRange,
  type GroupedJob,
  type HeadQuery,
  type HeadReads,
  type HeadRow,
} from "../heads.js";
import type { SqliteContext } from "./context.js";

const COLUMNS = `group_key as groupKey, device_key as deviceKey, target, org_id as orgId,
  app_version_id as appVersionId, priority, oldest_queued_at as oldestQueuedAt`;
const NOT_INSTALLED = "app_version_id not in (select value from json_each(?))";

const byContext = new WeakMap<SqliteContext, ReturnType<typeof prepare>>();

function prepare(ctx: SqliteContext) {
  const raw = ctx.raw;
  const ordered = (orderBy: string) =>
    raw.prepare<[string, string, string, string, number], HeadRow>(
      `select ${COLUMNS} from queue_groups
       where target = ? and device_key = ? and org_id = ? and ${NOT_INSTALLED}
       order by ${orderBy} limit ?`,
    );
  return {
    nextOrg: raw.prepare<[string, string, string], { org: string | null }>(
      "select min(org_id) as org from queue_groups where target = ? and device_key = ? and org_id > ?",
    ),
    oldest: ordered("oldest_queued_at, priority desc, group_key"),
    top: ordered("priority desc, oldest_queued_at, group_key"),
    installed: raw.prepare<[string, string, string, string | null, string | null], HeadRow>(
      `select ${COLUMNS} from queue_groups
       where app_version_id in (select value from json_each(?)) and target = ? and device_key = ?
         and (? is null or org_id = ?)`,
    ),
    all: raw.prepare<[string, string, string | null, string | null], HeadRow>(
      `select ${COLUMNS} from queue_groups
       where target = ? and device_key = ? and (? is null or org_id = ?)`,
    ),
    siblings: raw.prepare<[string, string], HeadRow>(
      `select ${COLUMNS} from queue_groups
       where group_key in (select value from json_each(?)) and device_key = ?`,
    ),
  };
}

export function headReads(ctx: SqliteContext): HeadReads<HeadRow[]> {
  let q = byContext.get(ctx);
  if (!q) byContext.set(ctx, (q = prepare(ctx)));
  const s = q;
  return {
    bounded(query: HeadQuery, deviceKey: string, limit: number) {
      const installed = JSON.stringify(query.installed);
      const orgs: string[] = [];
      if (query.orgId !== null) orgs.push(query.orgId);
      else {
        // A skip scan: one index step per org with work, however many groups each has.
        for (let org = s.nextOrg.get(query.target, deviceKey, "")?.org; org != null;) {
          orgs.push(org);
          org = s.nextOrg.get(query.target, deviceKey, org)?.org;
        }
      }
      const rows: HeadRow[] = [];
      for (const org of orgs) {
        rows.push(...s.oldest.all(query.target, deviceKey, org, installed, limit));
        rows.push(...s.top.all(query.target, deviceKey, org, installed, limit));
      }
      if (query.installed.length > 0) {
        rows.push(...s.installed.all(installed, query.target, deviceKey, query.orgId, query.orgId));
      }
      return rows;
    },
    all: (query, deviceKey) => s.all.all(query.target, deviceKey, query.orgId, query.orgId),
    siblings: (groupKeys, deviceKey) => s.siblings.all(JSON.stringify(groupKeys), deviceKey),
  };
}

/**
 * Gives queued jobs the group key of this store's strategy where they have another (written
 * under another strategy, or before group keys existed); the triggers move their summaries.
 * Two index steps when nothing needs it, which is every open but the first after a change.
 */
export function regroupQueued(ctx: SqliteContext) {
  const strategy = ctx.options.grouping;
  const { from, to } = strategyKeyRange(strategy);
  const stale = ctx.raw.prepare<[string, string], GroupedRow>(
    `select id, org_id as orgId, app_version_id as appVersionId, target, device, repo, tags, priority
     from jobs where status = 'queued' and (group_key < ? or group_key >= ?)`,
  );
  const update = ctx.raw.prepare("update jobs set group_key = ? where id = ?");
  ctx.raw
    .transaction(() => {
      for (const job of stale.all(from, to)) {
        update.run(
          groupKeyOf(strategy, { ...job, tags: JSON.parse(job.tags) as string[] }),
          job.id,
        );
      }
    })
    .immediate();
}

interface GroupedRow extends Omit<GroupedJob, "tags"> {
  id: string;
  tags: string;
}
