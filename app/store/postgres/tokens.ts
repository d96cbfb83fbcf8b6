/** API tokens: created, found by hash on every request, listed, revoked. Never the secret. */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { OrgScope, TokenRecord } from "../store.js";
import type { PgExec } from "./context.js";
import { tokens } from "./schema.js";

type TokenRow = typeof tokens.$inferSelect;

const record = ({ hash: _hash, ...token }: TokenRow): TokenRecord => token;

const inScope = (scope: OrgScope) =>
  scope.orgId === null ? undefined : eq(tokens.orgId, scope.orgId);

export async function createToken(db: PgExec, token: TokenRecord & { hash: string }) {
  await db.insert(tokens).values(token);
}

export async function findToken(db: PgExec, hash: string): Promise<TokenRecord | null> {
  const [row] = await db.select().from(tokens).where(eq(tokens.hash, hash));
  return row ? record(row) : null;
}

export async function hasTokens(db: PgExec) {
  return (await db.select({ id: tokens.id }).from(tokens).limit(1)).length > 0;
}

export async function listTokens(db: PgExec, scope: OrgScope): Promise<TokenRecord[]> {
  const rows = await db
    .select()
    .from(tokens)
    .where(inScope(scope))
    .orderBy(desc(tokens.createdAt), desc(tokens.id));
  return rows.map(record);
}

/** Revoking twice keeps the first revocation time. */
export async function revokeToken(
  db: PgExec,
  id: string,
  scope: OrgScope,
  now: number,
): Promise<TokenRecord | null> {
  await db
    .update(tokens)
    .set({ revokedAt: now })
    .where(and(eq(tokens.id, id), isNull(tokens.revokedAt), inScope(scope)));
  const [row] = await db
    .select()
    .from(tokens)
    .where(and(eq(tokens.id, id), inScope(scope)));
  return row ? record(row) : null;
}

export async function touchToken(db: PgExec, id: string, now: number) {
  await db.update(tokens).set({ lastUsedAt: now }).where(eq(tokens.id, id));
}
