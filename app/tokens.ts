/** API tokens: random, shown once, stored only as a SHA-256 hash. */
import { createHash, randomBytes } from "node:crypto";
import type { Scope } from "../api/types.js";
import { newId } from "./ids.js";
import type { Store, TokenRecord } from "./store/store.js";

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export async function issueToken(
  store: Store,
  input: { orgId: string | null; scopes: Scope[]; name: string },
  now: number,
): Promise<{ token: string; record: TokenRecord }> {
  const token = `qgj_${randomBytes(32).toString("base64url")}`;
  const record: TokenRecord = { id: newId("tok", now), ...input, createdAt: now };
  await store.createToken({ ...record, hash: hashToken(token) });
  return { token, record };
}
