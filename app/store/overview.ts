/** The queue overview, assembled the same way from either engine's rows. */
import { groupJobs } from "../scheduler/grouping.js";
import { TARGETS, type QueuedJob } from "../scheduler/types.js";
import type { AgentRecord, QueueGroupView, StoreOptions, TargetView } from "./store.js";

export interface OverviewRows {
  queued: QueuedJob[];
  /** Live leases per group key. */
  liveByGroup: { groupKey: string; n: number }[];
  /** Open jobs (queued, leased, running) per target and status. */
  openByStatus: { target: string; status: string; n: number }[];
  fleet: AgentRecord[];
}

export function queueOverview(
  rows: OverviewRows,
  options: StoreOptions,
  now: number,
): { targets: TargetView[]; groups: QueueGroupView[] } {
  const activeByGroup = new Map(rows.liveByGroup.map((l) => [l.groupKey, l.n]));
  const groups: QueueGroupView[] = groupJobs(rows.queued, options.grouping)
    .map((g) => ({
      key: g.key,
      orgId: g.orgId,
      appVersionId: g.appVersionId,
      target: g.target,
      queued: g.jobs.length,
      priority: g.priority,
      oldestQueuedAt: g.oldestQueuedAt,
      expectedWorkMs: g.workMs,
      activeLeases: activeByGroup.get(g.key) ?? 0,
    }))
    .sort((a, b) => b.priority - a.priority || a.oldestQueuedAt - b.oldestQueuedAt);

  const targets: TargetView[] = TARGETS.map((target) => {
    const count = (status: string) =>
      rows.openByStatus.find((r) => r.target === target && r.status === status)?.n ?? 0;
    const alive = rows.fleet.filter(
      (a) => a.target === target && a.lastSeenAt > now - options.leaseTtlMs,
    );
    return {
      target,
      queued: count("queued"),
      leased: count("leased"),
      running: count("running"),
      agentsIdle: alive.filter((a) => a.leaseId === null).length,
      agentsBusy: alive.filter((a) => a.leaseId !== null).length,
    };
  });
  return { targets, groups };
}
