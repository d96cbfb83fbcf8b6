/** What devices did for their leases (installs, sessions, setup time), on SQLite. */
import { eq, inArray } from "drizzle-orm";
import type { LeaseDeviceInput, LeaseDeviceRecord } from "../store.js";
import type { SqliteContext } from "./context.js";
import { agents, jobAttempts, jobs, leaseDevices, leases } from "./schema.js";

export function recordLeaseDevice(
  ctx: SqliteContext,
  leaseId: string,
  input: LeaseDeviceInput,
  now: number,
): { record: LeaseDeviceRecord; first: boolean } | null {
  return ctx.db.transaction(
    (tx) => {
      const lease = tx
        .select({ agentId: leases.agentId, appVersionId: leases.appVersionId })
        .from(leases)
        .where(eq(leases.id, leaseId))
        .get();
      if (!lease) return null;
      const earlier = tx
        .select({ leaseId: leaseDevices.leaseId })
        .from(leaseDevices)
        .where(eq(leaseDevices.leaseId, leaseId))
        .get();
      const { installed, ...counts } = input;
      const record = { leaseId, ...lease, ...counts, reportedAt: now };
      tx.insert(leaseDevices)
        .values(record)
        .onConflictDoUpdate({ target: leaseDevices.leaseId, set: record })
        .run();
      if (installed) tx.update(agents).set({ installed }).where(eq(agents.id, lease.agentId)).run();
      return { record, first: !earlier };
    },
    { behavior: "immediate" },
  );
}

export function leaseDevicesOf(ctx: SqliteContext, leaseIds: string[]): LeaseDeviceRecord[] {
  if (leaseIds.length === 0) return [];
  return ctx.db.select().from(leaseDevices).where(inArray(leaseDevices.leaseId, leaseIds)).all();
}

export function runLeaseDevices(ctx: SqliteContext, runId: string): LeaseDeviceRecord[] {
  const ofRun = ctx.db
    .selectDistinct({ leaseId: jobAttempts.leaseId })
    .from(jobAttempts)
    .innerJoin(jobs, eq(jobs.id, jobAttempts.jobId))
    .where(eq(jobs.runId, runId));
  return ctx.db
    .select()
    .from(leaseDevices)
    .where(inArray(leaseDevices.leaseId, ofRun))
    .orderBy(leaseDevices.reportedAt)
    .all();
}
