/** The scheduler's view of a target's fleet, built the same way from either engine's rows. */
import type { FleetShare, SchedulingInput } from "../scheduler/types.js";
import { decayUsage } from "../scheduler/usage.js";

/**
 * The live agents of a target counted by their org (null: a fleet agent) and the org of the
 * live lease they hold (null: idle). Each engine counts them in one grouped read, so a claim
 * costs the same with 10 agents or 1,000.
 */
export interface FleetCountRow {
  agentOrg: string | null;
  leaseOrg: string | null;
  n: number;
}

const add = (counts: Map<string, number>, key: string, n: number) =>
  counts.set(key, (counts.get(key) ?? 0) + n);

/**
 * Who works on what among the live agents of a target. `extraIdle` counts fleet agents that are
 * not registered (the queue view's "a new agent"); the asking agent holds no lease, so it is
 * among the idle already.
 */
export function fleetView(
  counts: FleetCountRow[],
  extraIdle: number,
): Pick<SchedulingInput, "idleAgents" | "fleet"> {
  const idleAgents = { fleet: extraIdle, byOrg: new Map<string, number>() };
  const fleet: FleetShare & { busyByOrg: Map<string, number> } = {
    live: extraIdle,
    busyByOrg: new Map<string, number>(),
  };
  for (const { agentOrg, leaseOrg, n } of counts) {
    if (agentOrg === null) {
      fleet.live += n;
      if (leaseOrg !== null) add(fleet.busyByOrg, leaseOrg, n);
    }
    if (leaseOrg !== null) continue;
    if (agentOrg === null) idleAgents.fleet += n;
    else add(idleAgents.byOrg, agentOrg, n);
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
