/** The GitHub App's state: check rows for the reporter and handled webhook deliveries. */
import { and, asc, eq, inArray, lt, lte } from "drizzle-orm";
import { newId } from "../../ids.js";
import type { GithubCheckPatch, GithubCheckRecord, NewGithubCheck } from "../store.js";
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

export function updateGithubCheck(ctx: SqliteContext, id: string, patch: GithubCheckPatch) {
  ctx.db.update(githubChecks).set(patch).where(eq(githubChecks.id, id)).run();
}

export function recordGithubDelivery(
  ctx: SqliteContext,
  id: string,
  event: string,
  now: number,
): boolean {
  return ctx.db.transaction(
    (tx) => {
      tx.delete(githubDeliveries)
        .where(lt(githubDeliveries.receivedAt, now - DELIVERY_MEMORY_MS))
        .run();
      const res = tx
        .insert(githubDeliveries)
        .values({ id, event, receivedAt: now })
        .onConflictDoNothing()
        .run();
      return res.changes === 1;
    },
    { behavior: "immediate" },
  );
}

export function githubDeliverySeen(ctx: SqliteContext, id: string): boolean {
  return (
    ctx.db
      .select({ id: githubDeliveries.id })
      .from(githubDeliveries)
      .where(eq(githubDeliveries.id, id))
      .get() !== undefined
  );
}
