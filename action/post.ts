/**
 * The post step (action.yml `runs.post`), which the runner runs after the job's steps even when
 * the job was cancelled or failed. The main step cancels its run itself on SIGINT/SIGTERM (see
 * cancel.ts), but when the runner has to kill it (SIGKILL after the grace period, a crash) its
 * run would keep holding devices for nobody: this cancels that run. When the main step finished
 * by itself (also with wait: false, which leaves the run to a later step) there is nothing to do.
 */
import { errorLine } from "./errors.js";
import type { Log } from "./log.js";
import { STATE } from "./track.js";
import type { QgjobClient } from "../api/client.js";

export interface PostDeps {
  state(name: string): string;
  client(): Pick<QgjobClient, "cancelRun">;
  log: Log;
}

/** Answers whether a run was cancelled. Never fails the job: cleanup problems are warnings. */
export async function cleanUp(deps: PostDeps): Promise<boolean> {
  const runId = deps.state(STATE.runId);
  if (!runId || deps.state(STATE.finished)) return false;
  deps.log.info(`qgjob: the main step did not finish; cancelling run ${runId}`);
  try {
    await deps.client().cancelRun(runId);
    deps.log.info(`qgjob: cancelled run ${runId} on the server`);
    return true;
  } catch (err) {
    deps.log.warning(`could not cancel run ${runId}: ${errorLine(err)}`);
    return false;
  }
}
