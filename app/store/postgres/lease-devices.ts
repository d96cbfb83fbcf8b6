/** What devices did for their leases (installs, sessions, setup time), on Postgres. */
import { eq, inArray } from "drizzle-orm";
import type { LeaseDeviceInput, LeaseDeviceRecord } from "../store.js";
import { transaction, type PgContext, type PgExec } from "./context.js";
import { agents, jobAttempts, jobs, leaseDevices, leases } from "./schema.js";

export function recordLeaseDevice(
  ctx: PgContext,
  leaseId: string,
  input: LeaseDeviceInput,
  now: number,
): Promise<{ record: LeaseDeviceRecord; first: boolean } | null> {
  return transaction(ctx, async (tx) => {
    const [lease] = await tx
      .select({ agentId: leases.agentId, appVersionId: leases.appVersionId })
      .from(leases)
      .where(eq(leases.id, leaseId));
    if (!lease) return null;
    const [earlier] = await tx
      .select({ leaseId: leaseDevices.leaseId })
      .from(leaseDevices)
      .where(eq(leaseDevices.leaseId, leaseId));
    const { installed, ...counts } = input;
    const record = { leaseId, ...lease, ...counts, reportedAt: now };
    await tx
      .insert(leaseDevices)
      .values(record)
      .onConflictDoUpdate({ target: leaseDevices.leaseId, set: record });
    if (installed) await tx.update(agents).set({ installed }).where(eq(agents.id, lease.agentId));
    return { record, first: !earlier };
  });
}

export async function leaseDevicesOf(db: PgExec, leaseIds: string[]): Promise<LeaseDeviceRecord[]> {
  if (leaseIds.length === 0) return [];
  return db.select().from(leaseDevices).where(inArray(leaseDevices.leaseId, leaseIds));
}

export async function runLeaseDevices(db: PgExec, runId: string): Promise<LeaseDeviceRecord[]> {
  const ofRun = db
    .selectDistinct({ leaseId: jobAttempts.leaseId })
    .from(jobAttempts)
    .innerJoin(jobs, eq(jobs.id, jobAttempts.jobId))
    .where(eq(jobs.runId, runId));
  return db
    .select()
    .from(leaseDevices)
    .where(inArray(leaseDevices.leaseId, ofRun))
    .orderBy(leaseDevices.reportedAt);
}
