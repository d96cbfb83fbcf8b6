/**
 * The bounded claim's candidates, the same on both engines. The scheduler ranks groups by
 * lexicographic objectives (policy.ts: starvation, priority, fair share, affinity, age, key),
 * so it never needs every group: per org, the groups a rank could keep at each step are
 *
 * - the two oldest, highest priority first among equally old (starvation and age),
 * - the two oldest of the org's highest priority (priority, then fair share and age),
 * - every group of an app version the agent has installed (affinity).
 *
 * "Two" because the reason of a decision is the objective that left one group: the runner-up
 * must be there to tell. The candidates keep every org with work (fair share counts orgs), and
 * at each step of the ranking they hold at least min(2, n) of the n groups the full queue
 * would, the best among them: so `chooseGroup` picks the same group for the same reason
 * (heads.test.ts checks this against `decide` over random queues, fleets and usage).
 *
 * The engines read these rows from queue_groups by index (one head per group and device key,
 * kept by triggers), however many groups are queued. A device agent also takes jobs pinned to
 * its device: it reads every head of its device key, merged with the same groups' any-device
 * heads, and the bounded rows of the rest.
 */
import { compareStrings } from "../scheduler/grouping.js";
import type { GroupHead } from "../scheduler/policy.js";
import type { GroupingStrategy, QueuedJob, Target } from "../scheduler/types.js";

/** How many groups per org and ordering the claim reads: the winner and its runner-up. */
export const HEADS_PER_ORDER = 2;

/** The device key of jobs for any device, and of jobs pinned to a device. */
export const ANY_DEVICE = "-";
export const deviceKeyOf = (device: string | null) => (device === null ? ANY_DEVICE : `=${device}`);

/**
 * The stored group key: the strategy's name, then its key. A store opened with another strategy
 * finds jobs whose key lacks its prefix and regroups them (`needsRegroup`).
 */
export const groupKeyOf = (strategy: GroupingStrategy, job: GroupedJob) =>
  `${strategy.name}:${strategy.keyOf({
    ...job,
    target: job.target as Target,
    id: "",
    testPath: "",
    expectedMs: 0,
    queuedAt: 0,
  })}`;

/** What a strategy may read of a job: the columns that never change while it is queued. */
export type GroupedJob = Pick<
  QueuedJob,
  "orgId" | "appVersionId" | "device" | "repo" | "tags" | "priority"
> & { target: string };

/** The stored keys of one strategy sort between these two: a range an index answers. */
export function strategyKeyRange(strategy: GroupingStrategy): { from: string; to: string } {
  return { from: `${strategy.name}:`, to: `${strategy.name};` };
}

/** A row of queue_groups. */
export interface HeadRow {
  groupKey: string;
  deviceKey: string;
  target: string;
  orgId: string;
  appVersionId: string;
  priority: number;
  oldestQueuedAt: number;
}

/** What an engine is asked to read for one agent (every list may be empty). */
export interface HeadQuery {
  target: string;
  /** null: every org (a fleet agent). */
  orgId: string | null;
  installed: readonly string[];
  /** Stored keys of groups left out (their jobs all avoid this agent, or were taken). */
  excluded: readonly string[];
  /**
   * Rows read beyond what the left-out groups need, per ordering: that many more groups can be
   * left out of the rows read without reading again, and the candidates stay exact.
   */
  spare?: number;
}

/**
 * The reads an engine supplies, each by index: `bounded` the rows named in the header for one
 * device key (per org, `limit` rows per ordering, versions not installed; plus every row of an
 * installed version); `all` every row of one device key; `siblings` the rows of these groups
 * under one device key.
 */
export interface HeadReads<R> {
  bounded(query: HeadQuery, deviceKey: string, limit: number): R;
  all(query: HeadQuery, deviceKey: string): R;
  siblings(groupKeys: readonly string[], deviceKey: string): R;
}

/**
 * The candidate rows for an agent, as a plan of reads: the engine runs each step (at once on
 * SQLite, awaited on Postgres) and hands the rows back. Device-less agents need one read.
 */
export function* candidateRows(
  query: HeadQuery,
  device: string | null,
): Generator<ReadStep, HeadRow[], HeadRow[]> {
  // Left-out groups may take places in a bounded read: it reads that many more per ordering.
  const excluded = new Set(query.excluded);
  const keep = (rows: HeadRow[]) => rows.filter((r) => !excluded.has(r.groupKey));
  const limit = HEADS_PER_ORDER + excluded.size + (query.spare ?? 0);
  if (device === null) return keep(yield { read: "bounded", deviceKey: ANY_DEVICE, limit });
  const pinned = keep(yield { read: "all", deviceKey: deviceKeyOf(device) });
  const pinnedKeys = pinned.map((r) => r.groupKey);
  const siblings = pinnedKeys.length
    ? yield { read: "siblings", deviceKey: ANY_DEVICE, groupKeys: pinnedKeys }
    : [];
  // So may the any-device rows of the groups with pinned jobs, which are all read already.
  const rest = yield { read: "bounded", deviceKey: ANY_DEVICE, limit: limit + pinnedKeys.length };
  return [...pinned, ...siblings, ...keep(rest)];
}

export type ReadStep =
  | { read: "bounded"; deviceKey: string; limit: number }
  | { read: "all"; deviceKey: string }
  | { read: "siblings"; deviceKey: string; groupKeys: string[] };

/** Runs a read plan against synchronous reads (SQLite). */
export function runPlan<T>(
  plan: Generator<ReadStep, T, HeadRow[]>,
  reads: HeadReads<HeadRow[]>,
  query: HeadQuery,
): T {
  let step = plan.next();
  while (!step.done) step = plan.next(read(reads, query, step.value));
  return step.value;
}

/** Runs a read plan against asynchronous reads (Postgres). */
export async function runPlanAsync<T>(
  plan: Generator<ReadStep, T, HeadRow[]>,
  reads: HeadReads<Promise<HeadRow[]>>,
  query: HeadQuery,
): Promise<T> {
  let step = plan.next();
  while (!step.done) step = plan.next(await read(reads, query, step.value));
  return step.value;
}

function read<R>(reads: HeadReads<R>, query: HeadQuery, step: ReadStep): R {
  switch (step.read) {
    case "bounded":
      return reads.bounded(query, step.deviceKey, step.limit);
    case "all":
      return reads.all(query, step.deviceKey);
    case "siblings":
      return reads.siblings(step.groupKeys, step.deviceKey);
  }
}

/** A head as the scheduler ranks it, with the stored key the claim reads its jobs by. */
export interface StoredHead extends GroupHead {
  storedKey: string;
}

/**
 * Folds the rows into one head per group (highest priority, oldest job over its device keys),
 * sorted by key as `chooseGroup` requires. The scheduler's key is the strategy's, without the
 * stored prefix.
 */
export function headsOf(rows: readonly HeadRow[]): StoredHead[] {
  const heads = new Map<string, StoredHead>();
  const seen = new Set<string>();
  for (const row of rows) {
    const id = `${row.groupKey}\u0000${row.deviceKey}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const head = heads.get(row.groupKey);
    if (head) {
      head.priority = Math.max(head.priority, row.priority);
      head.oldestQueuedAt = Math.min(head.oldestQueuedAt, row.oldestQueuedAt);
      continue;
    }
    heads.set(row.groupKey, {
      storedKey: row.groupKey,
      key: row.groupKey.slice(row.groupKey.indexOf(":") + 1),
      orgId: row.orgId,
      appVersionId: row.appVersionId,
      target: row.target as Target,
      priority: row.priority,
      oldestQueuedAt: row.oldestQueuedAt,
    });
  }
  return [...heads.values()].sort((a, b) => compareStrings(a.key, b.key));
}
