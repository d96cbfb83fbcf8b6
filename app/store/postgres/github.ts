/** The GitHub App's state on Postgres: check rows for the reporter and handled webhook deliveries. */
import { and, asc, eq, inArray, lt, lte } from "drizzle-orm";
import { newId } from "../../ids.js";
import type { GithubCheckPatch, GithubCheckRecord, NewGithubCheck } from "../store.js";
import { transaction, type PgContext, type PgExec } from "./context.js";
import { githubChecks, githubDeliveries } from "./schema.js";

/** GitHub offers redelivery of the last 3 days; a week covers it with room to spare. */
const DELIVERY_MEMORY_MS = 7 * 24 * 3600 * 1000;

/**
 * Adds one row per run and target, or returns the row already there. A replica adding the same
 * row at the same moment makes this insert wait on the unique index and then do nothing; the
 * select after it (a new snapshot under READ COMMITTED) reads the other replica's row.
 */
export function addGithubChecks(
  ctx: PgContext,
  checks: NewGithubCheck[],
  now: number,
): Promise<GithubCheckRecord[]> {
  return transaction(ctx, async (tx) => {
    const rows: GithubCheckRecord[] = [];
    for (const check of checks) {
      await tx
        .insert(githubChecks)
        .values({ ...check, id: newId("ghc", now), nextUpdateAt: now, createdAt: now })
        .onConflictDoNothing();
      const [row] = await tx
        .select()
        .from(githubChecks)
        .where(and(eq(githubChecks.runId, check.runId), eq(githubChecks.target, check.target)));
      rows.push(row!);
    }
    return rows;
  });
}

/**
 * The due rows, locked with SKIP LOCKED and moved to `now + holdMs` in one transaction: a
 * replica's reporter passes over rows another replica is taking right now, and once that commits
 * the rows are no longer due, so each check run update is sent by one replica only.
 */
export function claimDueGithubChecks(ctx: PgContext, now: number, limit: number, holdMs: number) {
  return transaction(ctx, async (tx) => {
    const due = await tx
      .select()
      .from(githubChecks)
      .where(and(eq(githubChecks.finished, false), lte(githubChecks.nextUpdateAt, now)))
      .orderBy(asc(githubChecks.nextUpdateAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    if (due.length > 0) {
      await tx
        .update(githubChecks)
        .set({ nextUpdateAt: now + holdMs })
        .where(
          inArray(
            githubChecks.id,
            due.map((c) => c.id),
          ),
        );
    }
    return due;
  });
}

export async function findGithubCheck(db: PgExec, installationId: number, checkRunId: number) {
  const [row] = await db
    .select()
    .from(githubChecks)
    .where(
      and(eq(githubChecks.installationId, installationId), eq(githubChecks.checkRunId, checkRunId)),
    );
  return row ?? null;
}

export async function updateGithubCheck(db: PgExec, id: string, patch: GithubCheckPatch) {
  await db.update(githubChecks).set(patch).where(eq(githubChecks.id, id));
}

/** True for a delivery not seen before; a concurrent insert of the same id waits, then loses. */
export function recordGithubDelivery(
  ctx: PgContext,
  id: string,
  event: string,
  now: number,
): Promise<boolean> {
  return transaction(ctx, async (tx) => {
    await tx
      .delete(githubDeliveries)
      .where(lt(githubDeliveries.receivedAt, now - DELIVERY_MEMORY_MS));
    const inserted = await tx
      .insert(githubDeliveries)
      .values({ id, event, receivedAt: now })
      .onConflictDoNothing()
      .returning({ id: githubDeliveries.id });
    return inserted.length === 1;
  });
}

export async function githubDeliverySeen(db: PgExec, id: string): Promise<boolean> {
  const rows = await db
    .select({ id: githubDeliveries.id })
    .from(githubDeliveries)
    .where(eq(githubDeliveries.id, id))
    .limit(1);
  return rows.length > 0;
}
