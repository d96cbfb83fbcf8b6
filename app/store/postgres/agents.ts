/** Agents: registration and the fleet as the overview shows it. */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { newId } from "../../ids.js";
import type { AgentRecord, OrgScope } from "../store.js";
import type { AgentInput } from "../sqlite/agents.js";
import { transaction, type PgContext, type PgExec } from "./context.js";
import { agents, leases } from "./schema.js";

/**
 * Registering again under the same name (an agent restarted on the same device) keeps its id and
 * settles the lease it held before. Two replicas may register the same name at once: an advisory
 * lock on (org, name) makes the second one find the first one's row.
 */
export async function registerAgent(
  ctx: PgContext,
  input: AgentInput,
  scope: OrgScope,
  now: number,
  endLeaseOf: (agentId: string) => Promise<void>,
): Promise<AgentRecord> {
  const id = await transaction(ctx, async (tx) => {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtext(${`qgjob:agent:${scope.orgId ?? "*"}:${input.name}`}))`,
    );
    const [existing] = await tx
      .select({ id: agents.id })
      .from(agents)
      .where(
        and(
          eq(agents.name, input.name),
          scope.orgId === null ? isNull(agents.orgId) : eq(agents.orgId, scope.orgId),
        ),
      );
    const values = { ...input, lastSeenAt: now };
    if (existing) {
      await tx.update(agents).set(values).where(eq(agents.id, existing.id));
      return existing.id;
    }
    const id = newId("agt", now);
    await tx.insert(agents).values({ id, orgId: scope.orgId, registeredAt: now, ...values });
    return id;
  });
  await endLeaseOf(id);
  return (await getAgent(ctx.db, id, scope, now))!;
}

/** Joins an agent to the lease it holds now, if any. */
export const liveLeaseOfAgent = (now: number) =>
  and(eq(leases.agentId, agents.id), isNull(leases.endedAt), gt(leases.expiresAt, now));

/** Agent names in byte order, as SQLite sorts, whatever collation the database was created with. */
export const byName = sql`${agents.name} collate "C"`;

export async function listAgents(
  db: PgExec,
  scope: OrgScope,
  now: number,
  id?: string,
): Promise<AgentRecord[]> {
  const rows = await db
    .select({ agent: agents, leaseId: leases.id })
    .from(agents)
    .leftJoin(leases, liveLeaseOfAgent(now))
    .where(
      and(
        scope.orgId === null ? undefined : eq(agents.orgId, scope.orgId),
        id === undefined ? undefined : eq(agents.id, id),
      ),
    )
    .orderBy(byName);
  return rows.map((r) => ({ ...r.agent, leaseId: r.leaseId }));
}

export async function getAgent(db: PgExec, id: string, scope: OrgScope, now: number) {
  return (await listAgents(db, scope, now, id))[0] ?? null;
}

export async function undrainAgent(db: PgExec, id: string, scope: OrgScope, now: number) {
  const [found] = await db
    .update(agents)
    .set({ drainedAt: null, recentErrors: [] })
    .where(and(eq(agents.id, id), scope.orgId === null ? undefined : eq(agents.orgId, scope.orgId)))
    .returning({ id: agents.id });
  return found ? getAgent(db, id, scope, now) : null;
}
