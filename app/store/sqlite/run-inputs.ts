/** The bundle and build each run carries, on SQLite (read for the jobs of a lease). */
import { inArray, sql } from "drizzle-orm";
import type { RunInputs } from "../store.js";
import type { SqliteContext } from "./context.js";
import { jobs, runs } from "./schema.js";

export function runInputs(ctx: SqliteContext, runIds: string[]): Map<string, RunInputs> {
  if (runIds.length === 0) return new Map();
  const rows = ctx.db
    .select({ id: runs.id, bundle: runs.bundle, build: runs.build })
    .from(runs)
    .where(inArray(runs.id, runIds))
    .all();
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
