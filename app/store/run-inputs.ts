/** Claimed job rows that carry their run's bundle and build (the claim returns both at once). */
import type { RunInputs } from "./store.js";

export interface WithRunInputs {
  runId: string;
  runBundle: RunInputs["bundle"];
  runBuild: RunInputs["build"];
}

/** The jobs as they are stored, and the inputs of their runs by run id. */
export function splitRunInputs<J extends WithRunInputs>(rows: J[]) {
  const inputs = new Map<string, RunInputs>();
  const jobs = rows.map(({ runBundle, runBuild, ...job }) => {
    inputs.set(job.runId, { bundle: runBundle, build: runBuild });
    return job;
  });
  return { jobs, inputs };
}
