/** The scheduler's view of a target's fleet, built the same way from either engine's rows. */
import type { FleetShare, SchedulingInput } from "../scheduler/types.js";
import { decayUsage } from "../scheduler/usage.js";

export interface LiveLeaseRow {
  groupKey: string;
  agentId: string;
  orgId: string;
}

export interface LiveAgentRow {
  id: string;
  orgId: string | null;
}

const increment = (counts: Map<string, number>, key: string) =>
  counts.set(key, (counts.get(key) ?? 0) + 1);

/**
 * Who works on what among the live agents of a target. `extraIdle` counts fleet agents that are
 * not registered (the queue view's "a new agent"); the asking agent holds no lease, so it is
 * among the idle already.
 */
export function fleetView(
  live: LiveLeaseRow[],
  alive: LiveAgentRow[],
  extraIdle: number,
): Pick<SchedulingInput, "idleAgents" | "fleet"> {
  const leaseOrg = new Map(live.map((l) => [l.agentId, l.orgId]));
  const idleAgents = { fleet: extraIdle, byOrg: new Map<string, number>() };
  const fleet: FleetShare & { busyByOrg: Map<string, number> } = {
    live: extraIdle,
    busyByOrg: new Map<string, number>(),
  };
  for (const a of alive) {
    const working = leaseOrg.get(a.id);
    if (a.orgId === null) {
      fleet.live++;
      if (working !== undefined) increment(fleet.busyByOrg, working);
    }
    if (working !== undefined) continue;
    if (a.orgId === null) idleAgents.fleet++;
    else increment(idleAgents.byOrg, a.orgId);
  }
  return { idleAgents, fleet };
}

export interface OrgUsageRow {
  orgId: string;
  usageMs: number;
  updatedAt: number;
}

/**
 * Recent device time per org: completed work (decayed to `now`) plus the expected work of what
 * is leased now (`inFlight`), so a burst of idle agents does not all go to the first org they see.
 */
export function usageView(
  usage: OrgUsageRow[],
  inFlight: { orgId: string; ms: number }[],
  now: number,
  halfLifeMs: number,
): Map<string, number> {
  const view = new Map<string, number>();
  for (const row of usage)
    view.set(row.orgId, decayUsage(row.usageMs, now - row.updatedAt, halfLifeMs));
  for (const row of inFlight) view.set(row.orgId, (view.get(row.orgId) ?? 0) + row.ms);
  return view;
}

/**
 * The `last_seen_at` below which an agent's poll or heartbeat rewrites it. Liveness allows a
 * whole lease TTL, so a row a tenth of that old (at most 5 s) is still current; an idle fleet
 * polling an empty queue then writes nothing on most polls.
 */
export const staleSeenAt = (now: number, leaseTtlMs: number) =>
  now - Math.min(5_000, Math.floor(leaseTtlMs / 10));
