/** Which org holds which blob, on Postgres. */
import { and, eq, sql } from "drizzle-orm";
import type { BlobRecord, NewBlob, OrgScope } from "../store.js";
import type { PgExec } from "./context.js";
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
