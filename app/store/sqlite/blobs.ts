/** Which org holds which blob, on SQLite. */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { BlobRecord, NewBlob, OrgScope } from "../store.js";
import type { SqliteContext } from "./context.js";
import { blobs } from "./schema.js";

export function recordBlob(ctx: SqliteContext, blob: NewBlob, now: number) {
  ctx.db
    .insert(blobs)
    .values({ ...blob, createdAt: now, lastReferencedAt: now })
    .onConflictDoUpdate({
      target: [blobs.orgId, blobs.sha256],
      set: { lastReferencedAt: sql`max(${blobs.lastReferencedAt}, ${now})` },
    })
    .run();
}

export function findBlob(ctx: SqliteContext, sha256: string, scope: OrgScope): BlobRecord | null {
  const byOrg = scope.orgId === null ? undefined : eq(blobs.orgId, scope.orgId);
  const row = ctx.db
    .select()
    .from(blobs)
    .where(and(eq(blobs.sha256, sha256), byOrg))
    .limit(1)
    .get();
  return (row as BlobRecord | undefined) ?? null;
}

/** A new use of blobs the org holds already (a result naming them, a run reusing a bundle). */
export function touchBlobs(ctx: SqliteContext, orgId: string, sha256s: string[], now: number) {
  if (sha256s.length === 0) return;
  ctx.db
    .update(blobs)
    .set({ lastReferencedAt: sql`max(${blobs.lastReferencedAt}, ${now})` })
    .where(and(eq(blobs.orgId, orgId), inArray(blobs.sha256, sha256s)))
    .run();
}

/**
 * Drops up to `limit` holdings unused since `before`, least recently used first; answers the
 * number dropped and the hashes no org holds any more (their bytes may go).
 */
export function expireBlobs(
  ctx: SqliteContext,
  before: number,
  limit: number,
): { dropped: number; orphans: string[] } {
  return ctx.db.transaction(
    (tx) => {
      const stale = tx
        .select({ orgId: blobs.orgId, sha256: blobs.sha256 })
        .from(blobs)
        .where(lt(blobs.lastReferencedAt, before))
        .orderBy(blobs.lastReferencedAt)
        .limit(limit)
        .all();
      for (const row of stale) {
        tx.delete(blobs)
          .where(and(eq(blobs.orgId, row.orgId), eq(blobs.sha256, row.sha256)))
          .run();
      }
      const hashes = [...new Set(stale.map((r) => r.sha256))];
      if (hashes.length === 0) return { dropped: 0, orphans: [] };
      const held = new Set(
        tx
          .select({ sha256: blobs.sha256 })
          .from(blobs)
          .where(inArray(blobs.sha256, hashes))
          .all()
          .map((r) => r.sha256),
      );
      return { dropped: stale.length, orphans: hashes.filter((h) => !held.has(h)) };
    },
    { behavior: "immediate" },
  );
}

/** Distinct stored blobs and their bytes (content is stored once, whoever holds it). */
export function blobUsage(ctx: SqliteContext): { blobs: number; bytes: number } {
  const row = ctx.raw
    .prepare(
      "SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM (SELECT max(size) AS size FROM blobs GROUP BY sha256)",
    )
    .get() as { blobs: number; bytes: number };
  return row;
}
