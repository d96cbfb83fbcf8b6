/** The bundle and build each run carries, on SQLite (read for the jobs of a lease). */
import { inArray } from "drizzle-orm";
import type { RunInputs } from "../store.js";
import type { SqliteContext } from "./context.js";
import { runs } from "./schema.js";

export function runInputs(ctx: SqliteContext, runIds: string[]): Map<string, RunInputs> {
  if (runIds.length === 0) return new Map();
  const rows = ctx.db
    .select({ id: runs.id, bundle: runs.bundle, build: runs.build })
    .from(runs)
    .where(inArray(runs.id, runIds))
    .all();
  return new Map(rows.map((r) => [r.id, { bundle: r.bundle, build: r.build }]));
}
