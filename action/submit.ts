/**
 * Submitting the run: the request (tests, options, where it came from), its idempotency key, and
 * a few log lines saying what was sent where.
 */
import type { QgjobClient } from "../api/client.js";
import type { RunWithJobs, SubmitRunRequest } from "../api/schemas.js";
import type { GithubContext } from "./context.js";
import { idempotencyKey } from "./idempotency.js";
import type { ActionInputs } from "./inputs.js";
import type { Log } from "./log.js";
import type { CancelOnSignal } from "./cancel.js";
import { ActionError } from "./errors.js";
import type { Plan } from "./plan.js";

export function runRequest(
  inputs: ActionInputs,
  ctx: GithubContext,
  tests: string[],
): SubmitRunRequest {
  return {
    org_id: inputs.orgId,
    app_version_id: inputs.appVersionId,
    tests,
    target: inputs.target,
    ...(inputs.device ? { device: inputs.device } : {}),
    priority: inputs.priority,
    retries: inputs.retries,
    source: "action",
    ...(ctx.repository ? { repo: ctx.repository } : {}),
    ...(ctx.sha ? { sha: ctx.sha } : {}),
    ...(ctx.ref ? { ref: ctx.ref } : {}),
  };
}

export async function submitRun(
  client: Pick<QgjobClient, "submitRun">,
  request: SubmitRunRequest,
  ctx: GithubContext,
  log: Log,
): Promise<RunWithJobs> {
  const key = idempotencyKey(ctx, request);
  const run = await client.submitRun(request, key);
  const n = run.jobs.length;
  log.info(
    `qgjob: run ${run.id}: ${n} ${n === 1 ? "test" : "tests"} of app version ${request.app_version_id} ` +
      `on ${request.target}${request.device ? ` (${request.device})` : ""}, ${run.status}`,
  );
  return run;
}

/** Submits (unless the step was already stopped), sets the run-id output, watches for signals. */
export async function submit(plan: Plan, stop: CancelOnSignal): Promise<RunWithJobs> {
  if (stop.received) throw new ActionError(`stopped by ${stop.received} before submitting`);
  const request = runRequest(plan.inputs, plan.ctx, plan.tests);
  const run = await submitRun(plan.client, request, plan.ctx, plan.io.log);
  plan.io.setOutput("run-id", run.id);
  stop.watch(run.id, () => plan.client.cancelRun(run.id));
  return run;
}
