/** The Postgres side of app/store/sqlite/stalls.ts. */
import { sql } from "drizzle-orm";
import type { PgContext } from "./context.js";
import { expireLease } from "./leases.js";
import { STALLED_LEASES } from "../stall-sql.js";

export async function extendLiveLeases(ctx: PgContext, byMs: number, now: number): Promise<number> {
  const floor = now + ctx.options.leaseTtlMs;
  const res = await ctx.db.execute(
    sql`update leases set expires_at = greatest(expires_at + ${Math.round(byMs)}, ${floor})
        where ended_at is null`,
  );
  return (res as unknown as { rowCount?: number }).rowCount ?? 0;
}

/**
 * A start racing this on another replica is settled by expireLease's lock on the lease: the
 * job counts as interrupted, goes back to the queue, and the agent hears lease_lost.
 */
export async function reapUnstarted(ctx: PgContext, since: number, now: number): Promise<number> {
  const bound = sql`${since}`;
  const query = sql.join(
    STALLED_LEASES.split("$1").map((part) => sql.raw(part)),
    bound,
  );
  const res = await ctx.db.execute(query);
  const rows = (res as unknown as { rows: { id: string }[] }).rows;
  for (const { id } of rows) await expireLease(ctx, id, "not_started", now);
  return rows.length;
}
