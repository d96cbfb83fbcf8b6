/** What the scheduler would hand the next idle agent of each target, computed without claiming. */
import { and, eq, gt, isNull, or } from "drizzle-orm";
import { TARGETS } from "../../scheduler/types.js";
import { newAgent, nextLeaseView } from "../next-lease.js";
import type { NextLeaseView, OrgScope } from "../store.js";
import { byName, liveLeaseOfAgent } from "./agents.js";
import type { PgContext } from "./context.js";
import { decideFor } from "./leases.js";
import { agents, leases } from "./schema.js";

export function previewNextLeases(
  ctx: PgContext,
  scope: OrgScope,
  now: number,
): Promise<NextLeaseView[]> {
  // Read on the pool without a transaction, as the claim reads its scheduling input: under READ
  // COMMITTED a transaction would give each statement its own snapshot all the same.
  return Promise.all(
    TARGETS.map(async (target) => {
      // The idle agent that would ask first is unknown (they long-poll in parallel): take the
      // first by name, as the agents page lists them. Agents of other orgs never serve the caller.
      const [idle] = await ctx.db
        .select({
          id: agents.id,
          name: agents.name,
          orgId: agents.orgId,
          target: agents.target,
          device: agents.device,
          installed: agents.installed,
        })
        .from(agents)
        .leftJoin(leases, liveLeaseOfAgent(now))
        .where(
          and(
            eq(agents.target, target),
            gt(agents.lastSeenAt, now - ctx.options.leaseTtlMs),
            isNull(leases.id),
            scope.orgId === null
              ? undefined
              : or(isNull(agents.orgId), eq(agents.orgId, scope.orgId)),
          ),
        )
        .orderBy(byName)
        .limit(1);
      const agent = idle ?? newAgent(target);
      const decision = await decideFor(ctx.db, ctx, agent, now, { extraIdle: idle ? 0 : 1 });
      return nextLeaseView(target, idle, decision, scope);
    }),
  );
}
