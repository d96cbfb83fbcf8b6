/** Which org holds which blob, on SQLite. */
import { and, eq, sql } from "drizzle-orm";
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
