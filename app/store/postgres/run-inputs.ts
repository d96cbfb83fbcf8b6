/** The bundle and build each run carries, on Postgres (read for the jobs of a lease). */
import { inArray, sql } from "drizzle-orm";
import type { RunInputs } from "../store.js";
import type { PgExec } from "./context.js";
import { jobs, runs } from "./schema.js";

export async function runInputs(db: PgExec, runIds: string[]): Promise<Map<string, RunInputs>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .select({ id: runs.id, bundle: runs.bundle, build: runs.build })
    .from(runs)
    .where(inArray(runs.id, runIds));
  return new Map(rows.map((r) => [r.id, { bundle: r.bundle, build: r.build }]));
}

/** A returned job row's run bundle and build, read in the statement that returns the job. */
export const runInputsOfJob = {
  runBundle: sql<
    RunInputs["bundle"]
  >`(select ${runs.bundle} from ${runs} where ${runs.id} = ${jobs.runId})`.mapWith(runs.bundle),
  runBuild: sql<
    RunInputs["build"]
  >`(select ${runs.build} from ${runs} where ${runs.id} = ${jobs.runId})`.mapWith(runs.build),
};
