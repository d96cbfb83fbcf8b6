/** Agents: registration and the fleet as the overview shows it. */
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Target } from "../../scheduler/types.js";
import { newId } from "../../ids.js";
import type { AgentRecord, OrgScope } from "../store.js";
import type { SqliteContext } from "./context.js";
import { agents, leases } from "./schema.js";

export interface AgentInput {
  name: string;
  target: Target;
  device: string | null;
  labels: string[];
  installed: string[];
  /** Replaces the previous registration's key: the old process can no longer act as this agent. */
  keyHash?: string;
}

/**
 * Registering again under the same name (an agent restarted on the same device) keeps its id and
 * settles the lease it held before: whatever it was running there died with the old process.
 */
export function registerAgent(
  ctx: SqliteContext,
  input: AgentInput,
  scope: OrgScope,
  now: number,
  endLeaseOf: (agentId: string) => void,
): AgentRecord {
  const id = ctx.db.transaction(
    (tx) => {
      const existing = tx
        .select({ id: agents.id })
        .from(agents)
        .where(
          and(
            eq(agents.name, input.name),
            scope.orgId === null ? isNull(agents.orgId) : eq(agents.orgId, scope.orgId),
          ),
        )
        .get();
      const values = { ...input, lastSeenAt: now };
      if (existing) {
        tx.update(agents).set(values).where(eq(agents.id, existing.id)).run();
        return existing.id;
      }
      const id = newId("agt", now);
      tx.insert(agents)
        .values({ id, orgId: scope.orgId, registeredAt: now, ...values })
        .run();
      return id;
    },
    { behavior: "immediate" },
  );
  endLeaseOf(id);
  return getAgent(ctx, id, scope, now)!;
}

export function listAgents(ctx: SqliteContext, scope: OrgScope, now: number): AgentRecord[] {
  const rows = ctx.db
    .select({ agent: agents, leaseId: leases.id })
    .from(agents)
    .leftJoin(
      leases,
      and(eq(leases.agentId, agents.id), isNull(leases.endedAt), gt(leases.expiresAt, now)),
    )
    .where(scope.orgId === null ? undefined : eq(agents.orgId, scope.orgId))
    .orderBy(agents.name)
    .all();
  return rows.map((r) => ({ ...r.agent, leaseId: r.leaseId }));
}

export function getAgent(ctx: SqliteContext, id: string, scope: OrgScope, now: number) {
  return listAgents(ctx, scope, now).find((a) => a.id === id) ?? null;
}

export function undrainAgent(ctx: SqliteContext, id: string, scope: OrgScope, now: number) {
  const found = ctx.db
    .update(agents)
    .set({ drainedAt: null, recentErrors: [] })
    .where(and(eq(agents.id, id), scope.orgId === null ? undefined : eq(agents.orgId, scope.orgId)))
    .returning({ id: agents.id })
    .get();
  return found ? getAgent(ctx, id, scope, now) : null;
}
