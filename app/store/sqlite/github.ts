/** The GitHub App's state: check rows for the reporter and webhook deliveries to process. */
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, sql } from "drizzle-orm";
import { newId } from "../../ids.js";
import type {
  GithubCheckPatch,
  GithubCheckRecord,
  GithubChecksOf,
  GithubDeliveryPatch,
  NewGithubCheck,
} from "../store.js";
import type { SqliteContext } from "./context.js";
import { githubChecks, githubDeliveries } from "./schema.js";

/** GitHub offers redelivery of the last 3 days; a week covers it with room to spare. */
const DELIVERY_MEMORY_MS = 7 * 24 * 3600 * 1000;

export function addGithubChecks(
  ctx: SqliteContext,
  checks: NewGithubCheck[],
  now: number,
): GithubCheckRecord[] {
  return ctx.db.transaction(
    (tx) =>
      checks.map((check) => {
        tx.insert(githubChecks)
          .values({ ...check, id: newId("ghc", now), nextUpdateAt: now, createdAt: now })
          .onConflictDoNothing()
          .run();
        return tx
          .select()
          .from(githubChecks)
          .where(and(eq(githubChecks.runId, check.runId), eq(githubChecks.target, check.target)))
          .get()!;
      }),
    { behavior: "immediate" },
  );
}

export function claimDueGithubChecks(
  ctx: SqliteContext,
  now: number,
  limit: number,
  holdMs: number,
) {
  return ctx.db.transaction(
    (tx) => {
      const due = tx
        .select()
        .from(githubChecks)
        .where(and(eq(githubChecks.finished, false), lte(githubChecks.nextUpdateAt, now)))
        .orderBy(asc(githubChecks.nextUpdateAt))
        .limit(limit)
        .all();
      if (due.length > 0) {
        tx.update(githubChecks)
          .set({ nextUpdateAt: now + holdMs })
          .where(
            inArray(
              githubChecks.id,
              due.map((c) => c.id),
            ),
          )
          .run();
      }
      return due;
    },
    { behavior: "immediate" },
  );
}

export function findGithubCheck(ctx: SqliteContext, installationId: number, checkRunId: number) {
  return (
    ctx.db
      .select()
      .from(githubChecks)
      .where(
        and(
          eq(githubChecks.installationId, installationId),
          eq(githubChecks.checkRunId, checkRunId),
        ),
      )
      .get() ?? null
  );
}

export function updateGithubCheck(
  ctx: SqliteContext,
  check: Pick<GithubCheckRecord, "id" | "generation">,
  patch: GithubCheckPatch,
) {
  ctx.db
    .update(githubChecks)
    .set(patch)
    .where(and(eq(githubChecks.id, check.id), eq(githubChecks.generation, check.generation)))
    .run();
}

export function restartGithubCheck(ctx: SqliteContext, id: string, patch: GithubCheckPatch) {
  ctx.db
    .update(githubChecks)
    .set({ ...patch, generation: sql`${githubChecks.generation} + 1` })
    .where(eq(githubChecks.id, id))
    .run();
}

export function githubChecksOf(ctx: SqliteContext, which: GithubChecksOf) {
  const where =
    "runId" in which
      ? eq(githubChecks.runId, which.runId)
      : and(
          eq(githubChecks.installationId, which.installationId),
          eq(githubChecks.owner, which.owner),
          eq(githubChecks.repo, which.repo),
          eq(githubChecks.sha, which.sha),
        );
  return ctx.db.select().from(githubChecks).where(where).orderBy(asc(githubChecks.id)).all();
}

export function receiveGithubDelivery(
  ctx: SqliteContext,
  delivery: { id: string; event: string; payload: string },
  now: number,
): boolean {
  return ctx.db.transaction(
    (tx) => {
      tx.delete(githubDeliveries)
        .where(lt(githubDeliveries.receivedAt, now - DELIVERY_MEMORY_MS))
        .run();
      const inserted = tx
        .insert(githubDeliveries)
        .values({ ...delivery, receivedAt: now, nextAttemptAt: now })
        .onConflictDoNothing()
        .run();
      if (inserted.changes === 1) return true;
      // A delivery given up on and sent again (GitHub's "Redeliver"): try it afresh.
      const rearmed = tx
        .update(githubDeliveries)
        .set({
          payload: delivery.payload,
          attempts: 0,
          nextAttemptAt: now,
          processedAt: null,
          error: null,
        })
        .where(and(eq(githubDeliveries.id, delivery.id), isNotNull(githubDeliveries.error)))
        .run();
      return rearmed.changes === 1;
    },
    { behavior: "immediate" },
  );
}

export function claimGithubDeliveries(
  ctx: SqliteContext,
  now: number,
  limit: number,
  holdMs: number,
) {
  return ctx.db.transaction(
    (tx) => {
      const due = tx
        .select()
        .from(githubDeliveries)
        .where(and(isNull(githubDeliveries.processedAt), lte(githubDeliveries.nextAttemptAt, now)))
        .orderBy(asc(githubDeliveries.nextAttemptAt))
        .limit(limit)
        .all();
      if (due.length > 0) {
        tx.update(githubDeliveries)
          .set({ nextAttemptAt: now + holdMs })
          .where(
            inArray(
              githubDeliveries.id,
              due.map((d) => d.id),
            ),
          )
          .run();
      }
      return due;
    },
    { behavior: "immediate" },
  );
}

export function updateGithubDelivery(ctx: SqliteContext, id: string, patch: GithubDeliveryPatch) {
  ctx.db.update(githubDeliveries).set(patch).where(eq(githubDeliveries.id, id)).run();
}
