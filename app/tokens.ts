/** API tokens: random, shown once, stored only as a SHA-256 hash, revocable, optionally expiring. */
import { createHash, randomBytes } from "node:crypto";
import type { Scope } from "../api/types.js";
import { newId } from "./ids.js";
import type { Store, TokenRecord } from "./store/store.js";

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** A random secret with a recognisable prefix (secret scanners match on `qgj_`). */
export const newSecret = (prefix: string) => `${prefix}${randomBytes(32).toString("base64url")}`;

export async function issueToken(
  store: Store,
  input: { orgId: string | null; scopes: Scope[]; name: string; expiresAt?: number | null },
  now: number,
): Promise<{ token: string; record: TokenRecord }> {
  const token = newSecret("qgj_");
  const record: TokenRecord = {
    id: newId("tok", now),
    orgId: input.orgId,
    scopes: input.scopes,
    name: input.name,
    createdAt: now,
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
    lastUsedAt: null,
  };
  await store.createToken({ ...record, hash: hashToken(token) });
  return { token, record };
}

/** Why a stored token no longer authenticates, or null while it does. */
export function tokenRefusal(record: TokenRecord, now: number): string | null {
  if (record.revokedAt !== null) return "this API token was revoked";
  if (record.expiresAt !== null && record.expiresAt <= now) return "this API token has expired";
  return null;
}
