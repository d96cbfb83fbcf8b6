/** A job's attempts, oldest first: each try's status and result (its evidence per attempt). */
import { asc, eq } from "drizzle-orm";
import type { AttemptRecord } from "../store.js";
import type { PgExec } from "./context.js";
import { jobAttempts } from "./schema.js";

export async function listAttempts(db: PgExec, jobId: string): Promise<AttemptRecord[]> {
  return db
    .select()
    .from(jobAttempts)
    .where(eq(jobAttempts.jobId, jobId))
    .orderBy(asc(jobAttempts.attempt));
}
