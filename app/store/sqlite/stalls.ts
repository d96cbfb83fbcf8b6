/**
 * Leases against time the server did not see pass (a pause, an event-loop stall) and leases
 * whose agent takes nothing forward. See app/reaper.ts for when each runs.
 */
import type { SqliteContext } from "./context.js";
import { expireLease } from "./leases.js";
import { STALLED_LEASES } from "../stall-sql.js";

export function extendLiveLeases(ctx: SqliteContext, byMs: number, now: number): number {
  return ctx.raw
    .prepare("update leases set expires_at = max(expires_at + ?, ?) where ended_at is null")
    .run(Math.round(byMs), now + ctx.options.leaseTtlMs).changes;
}

export function reapUnstarted(ctx: SqliteContext, since: number, now: number): number {
  const stalled = ctx.raw
    .prepare(STALLED_LEASES.replaceAll("$1", "?"))
    .all(since, since, since) as {
    id: string;
  }[];
  for (const { id } of stalled) expireLease(ctx, id, "not_started", now);
  return stalled.length;
}
