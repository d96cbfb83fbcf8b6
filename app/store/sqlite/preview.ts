/** What the scheduler would hand the next idle agent of each target, computed without claiming. */
import { and, asc, eq, gt, isNull, or } from "drizzle-orm";
import { TARGETS } from "../../scheduler/types.js";
import { newAgent, nextLeaseView } from "../next-lease.js";
import type { NextLeaseView, OrgScope } from "../store.js";
import type { SqliteContext } from "./context.js";
import { decideFor } from "./leases.js";
import { agents, leases } from "./schema.js";

export function previewNextLeases(
  ctx: SqliteContext,
  scope: OrgScope,
  now: number,
): NextLeaseView[] {
  return ctx.db.transaction((tx) =>
    TARGETS.map((target) => {
      // The idle agent that would ask first is unknown (they long-poll in parallel): take the
      // first by name, as the agents page lists them. Agents of other orgs never serve the caller.
      const idle = tx
        .select({
          id: agents.id,
          name: agents.name,
          orgId: agents.orgId,
          target: agents.target,
          device: agents.device,
          installed: agents.installed,
        })
        .from(agents)
        .leftJoin(
          leases,
          and(eq(leases.agentId, agents.id), isNull(leases.endedAt), gt(leases.expiresAt, now)),
        )
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
        .orderBy(asc(agents.name))
        .get();
      const decision = decideFor(ctx, idle ?? newAgent(target), now, idle ? 0 : 1);
      return nextLeaseView(target, idle, decision, scope);
    }),
  );
}
