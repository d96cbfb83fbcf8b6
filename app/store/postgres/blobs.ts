/** Which org holds which blob, on Postgres. */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { BlobRecord, NewBlob, OrgScope } from "../store.js";
import { transaction, type PgContext, type PgExec } from "./context.js";
import { blobs } from "./schema.js";

export async function recordBlob(db: PgExec, blob: NewBlob, now: number) {
  await db
    .insert(blobs)
    .values({ ...blob, createdAt: now, lastReferencedAt: now })
    .onConflictDoUpdate({
      target: [blobs.orgId, blobs.sha256],
      set: { lastReferencedAt: sql`greatest(${blobs.lastReferencedAt}, ${now})` },
    });
}

export async function findBlob(
  db: PgExec,
  sha256: string,
  scope: OrgScope,
): Promise<BlobRecord | null> {
  const byOrg = scope.orgId === null ? undefined : eq(blobs.orgId, scope.orgId);
  const [row] = await db
    .select()
    .from(blobs)
    .where(and(eq(blobs.sha256, sha256), byOrg))
    .limit(1);
  return (row as BlobRecord | undefined) ?? null;
}

/** A new use of blobs the org holds already (a result naming them, a run reusing a bundle). */
export async function touchBlobs(db: PgExec, orgId: string, sha256s: string[], now: number) {
  if (sha256s.length === 0) return;
  await db
    .update(blobs)
    .set({ lastReferencedAt: sql`greatest(${blobs.lastReferencedAt}, ${now})` })
    .where(and(eq(blobs.orgId, orgId), inArray(blobs.sha256, sha256s)));
}

/**
 * Drops up to `limit` holdings unused since `before`, least recently used first (rows another
 * replica is expiring are skipped); answers the number dropped and the hashes no org holds
 * any more.
 */
export async function expireBlobs(ctx: PgContext, before: number, limit: number) {
  return transaction(ctx, async (tx) => {
    const stale = await tx
      .select({ orgId: blobs.orgId, sha256: blobs.sha256 })
      .from(blobs)
      .where(lt(blobs.lastReferencedAt, before))
      .orderBy(blobs.lastReferencedAt)
      .limit(limit)
      .for("update", { skipLocked: true });
    for (const row of stale) {
      await tx.delete(blobs).where(and(eq(blobs.orgId, row.orgId), eq(blobs.sha256, row.sha256)));
    }
    const hashes = [...new Set(stale.map((r) => r.sha256))];
    if (hashes.length === 0) return { dropped: 0, orphans: [] };
    const held = new Set(
      (
        await tx.select({ sha256: blobs.sha256 }).from(blobs).where(inArray(blobs.sha256, hashes))
      ).map((r) => r.sha256),
    );
    return { dropped: stale.length, orphans: hashes.filter((h) => !held.has(h)) };
  });
}

/** Distinct stored blobs and their bytes (content is stored once, whoever holds it). */
export async function blobUsage(db: PgExec): Promise<{ blobs: number; bytes: number }> {
  const result = (await db.execute(
    sql`SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM (SELECT max(size) AS size FROM blobs GROUP BY sha256) s`,
  )) as unknown as { rows: { blobs: string; bytes: string }[] };
  const row = result.rows[0];
  return { blobs: Number(row?.blobs ?? 0), bytes: Number(row?.bytes ?? 0) };
}
