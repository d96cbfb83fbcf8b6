/** A job's attempts, oldest first: each try's status and result (its evidence per attempt). */
import { asc, eq } from "drizzle-orm";
import type { AttemptRecord } from "../store.js";
import type { SqliteContext } from "./context.js";
import { jobAttempts } from "./schema.js";

export function listAttempts(ctx: SqliteContext, jobId: string): AttemptRecord[] {
  return ctx.db
    .select()
    .from(jobAttempts)
    .where(eq(jobAttempts.jobId, jobId))
    .orderBy(asc(jobAttempts.attempt))
    .all();
}
