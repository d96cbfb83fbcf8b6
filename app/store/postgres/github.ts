/** The GitHub App's state on Postgres: check rows for the reporter and webhook deliveries to process. */
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, sql } from "drizzle-orm";
import { newId } from "../../ids.js";
import type {
  GithubCheckPatch,
  GithubCheckRecord,
  GithubChecksOf,
  GithubDeliveryPatch,
  NewGithubCheck,
} from "../store.js";
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

export async function updateGithubCheck(
  db: PgExec,
  check: Pick<GithubCheckRecord, "id" | "generation">,
  patch: GithubCheckPatch,
) {
  await db
    .update(githubChecks)
    .set(patch)
    .where(and(eq(githubChecks.id, check.id), eq(githubChecks.generation, check.generation)));
}

export async function restartGithubCheck(db: PgExec, id: string, patch: GithubCheckPatch) {
  await db
    .update(githubChecks)
    .set({ ...patch, generation: sql`${githubChecks.generation} + 1` })
    .where(eq(githubChecks.id, id));
}

export function githubChecksOf(db: PgExec, which: GithubChecksOf) {
  const where =
    "runId" in which
      ? eq(githubChecks.runId, which.runId)
      : and(
          eq(githubChecks.installationId, which.installationId),
          eq(githubChecks.owner, which.owner),
          eq(githubChecks.repo, which.repo),
          eq(githubChecks.sha, which.sha),
        );
  return db.select().from(githubChecks).where(where).orderBy(asc(githubChecks.id));
}

/**
 * True for a delivery not seen before (a concurrent insert of the same id waits, then loses), or
 * one given up on and sent again, which is armed afresh.
 */
export function receiveGithubDelivery(
  ctx: PgContext,
  delivery: { id: string; event: string; payload: string },
  now: number,
): Promise<boolean> {
  return transaction(ctx, async (tx) => {
    await tx
      .delete(githubDeliveries)
      .where(lt(githubDeliveries.receivedAt, now - DELIVERY_MEMORY_MS));
    const inserted = await tx
      .insert(githubDeliveries)
      .values({ ...delivery, receivedAt: now, nextAttemptAt: now })
      .onConflictDoNothing()
      .returning({ id: githubDeliveries.id });
    if (inserted.length === 1) return true;
    const rearmed = await tx
      .update(githubDeliveries)
      .set({
        payload: delivery.payload,
        attempts: 0,
        nextAttemptAt: now,
        processedAt: null,
        error: null,
      })
      .where(and(eq(githubDeliveries.id, delivery.id), isNotNull(githubDeliveries.error)))
      .returning({ id: githubDeliveries.id });
    return rearmed.length === 1;
  });
}

/** Due deliveries, taken with SKIP LOCKED and held, as claimDueGithubChecks does for check rows. */
export function claimGithubDeliveries(ctx: PgContext, now: number, limit: number, holdMs: number) {
  return transaction(ctx, async (tx) => {
    const due = await tx
      .select()
      .from(githubDeliveries)
      .where(and(isNull(githubDeliveries.processedAt), lte(githubDeliveries.nextAttemptAt, now)))
      .orderBy(asc(githubDeliveries.nextAttemptAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    if (due.length > 0) {
      await tx
        .update(githubDeliveries)
        .set({ nextAttemptAt: now + holdMs })
        .where(
          inArray(
            githubDeliveries.id,
            due.map((d) => d.id),
          ),
        );
    }
    return due;
  });
}

export async function updateGithubDelivery(db: PgExec, id: string, patch: GithubDeliveryPatch) {
  await db.update(githubDeliveries).set(patch).where(eq(githubDeliveries.id, id));
}
