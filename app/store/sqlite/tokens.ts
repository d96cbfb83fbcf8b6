/** API tokens: created, found by hash on every request, listed, revoked. Never the secret. */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { OrgScope, TokenRecord } from "../store.js";
import type { SqliteContext } from "./context.js";
import { tokens } from "./schema.js";

type TokenRow = typeof tokens.$inferSelect;

const record = ({ hash: _hash, ...token }: TokenRow): TokenRecord => token;

export function createToken(ctx: SqliteContext, token: TokenRecord & { hash: string }) {
  ctx.db.insert(tokens).values(token).run();
}

// Runs on every request (auth): a prepared statement, no query building.
export function findToken(ctx: SqliteContext, hash: string): TokenRecord | null {
  const row = ctx.raw
    .prepare(
      "select id, org_id, name, scopes, created_at, expires_at, revoked_at, last_used_at from tokens where hash = ?",
    )
    .get(hash) as
    | {
        id: string;
        org_id: string | null;
        name: string;
        scopes: string;
        created_at: number;
        expires_at: number | null;
        revoked_at: number | null;
        last_used_at: number | null;
      }
    | undefined;
  if (!row) return null;
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

export function hasTokens(ctx: SqliteContext) {
  return ctx.raw.prepare("select 1 from tokens limit 1").get() !== undefined;
}

const inScope = (scope: OrgScope) =>
  scope.orgId === null ? undefined : eq(tokens.orgId, scope.orgId);

export function listTokens(ctx: SqliteContext, scope: OrgScope): TokenRecord[] {
  return ctx.db
    .select()
    .from(tokens)
    .where(inScope(scope))
    .orderBy(desc(tokens.createdAt), desc(tokens.id))
    .all()
    .map(record);
}

/** Revoking twice keeps the first revocation time. */
export function revokeToken(
  ctx: SqliteContext,
  id: string,
  scope: OrgScope,
  now: number,
): TokenRecord | null {
  ctx.db
    .update(tokens)
    .set({ revokedAt: now })
    .where(and(eq(tokens.id, id), isNull(tokens.revokedAt), inScope(scope)))
    .run();
  const row = ctx.db
    .select()
    .from(tokens)
    .where(and(eq(tokens.id, id), inScope(scope)))
    .get();
  return row ? record(row) : null;
}

export function touchToken(ctx: SqliteContext, id: string, now: number) {
  ctx.raw.prepare("update tokens set last_used_at = ? where id = ?").run(now, id);
}
