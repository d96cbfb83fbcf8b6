/**
 * The run this step is in charge of, from the moment its id is known (submitted here, or given
 * as run-id): the `run-id` and `run-url` outputs, the id saved for the post step (which cancels
 * the run if this step is killed before it finishes), and a signal handler that cancels it.
 */
import type { RunWithJobs } from "../api/schemas.js";
import type { CancelOnSignal } from "./cancel.js";
import { dashboardLinks } from "../report/links.js";
import type { Plan } from "./plan.js";

/** Names of the values the main step leaves for the post step (core.saveState). */
export const STATE = {
  /** Set first thing in the main step: the post step knows it is the post step. */
  started: "started",
  /** The run in charge of, once known. */
  runId: "run-id",
  /** Set when the main step ends by itself (whatever its outcome): nothing left to clean up. */
  finished: "finished",
} as const;

export function track(
  plan: Pick<Plan, "inputs" | "client" | "io">,
  run: Pick<RunWithJobs, "id">,
  stop: Pick<CancelOnSignal, "watch">,
): void {
  const url = dashboardLinks(plan.inputs.serverUrl, run.id).run;
  plan.io.setOutput("run-id", run.id);
  plan.io.setOutput("run-url", url);
  plan.io.saveState(STATE.runId, run.id);
  plan.io.log.info(`qgjob: run ${run.id}: ${url}`);
  stop.watch(run.id, () => plan.client.cancelRun(run.id));
}

/** With run-id: the run submitted earlier, as it stands now, taken in charge like a new one. */
export async function attach(
  plan: Pick<Plan, "inputs" | "client" | "io">,
  runId: string,
  stop: Pick<CancelOnSignal, "watch">,
): Promise<RunWithJobs> {
  const run = await plan.client.getRun(runId);
  plan.io.log.info(
    `qgjob: waiting for run ${run.id}, submitted earlier (${run.jobs.length} tests, ${run.status})`,
  );
  track(plan, run, stop);
  return run;
}
