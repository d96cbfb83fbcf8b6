/**
 * Submitting the run: the request (tests, options, where it came from, its bundle and build), its
 * idempotency key, and a few log lines saying what was sent where.
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
import { uploadRunFiles } from "./run-inputs.js";
import { track } from "./track.js";

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
    ...(inputs.maxAttempts !== undefined ? { max_attempts: inputs.maxAttempts } : {}),
    ...(inputs.testTimeoutS !== undefined ? { timeout_s: inputs.testTimeoutS } : {}),
    ...(inputs.tags.length > 0 ? { tags: inputs.tags } : {}),
    source: "action",
    ...(ctx.repository ? { repo: ctx.repository } : {}),
    ...(ctx.sha ? { sha: ctx.sha } : {}),
    ...(ctx.ref ? { ref: ctx.ref } : {}),
    ...(inputs.cancelInProgress ? { supersede: true } : {}),
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

/**
 * Uploads the bundle and build, submits (unless the step was stopped meanwhile), then takes
 * charge of the run (track).
 */
export async function submit(plan: Plan, stop: CancelOnSignal): Promise<RunWithJobs> {
  const stopped = () => {
    if (stop.received) throw new ActionError(`stopped by ${stop.received} before submitting`);
  };
  stopped();
  const request = runRequest(plan.inputs, plan.ctx, plan.tests);
  await uploadRunFiles(plan.client, plan.files, request, plan.ctx, plan.io.log);
  stopped();
  const run = await submitRun(plan.client, request, plan.ctx, plan.io.log);
  track(plan, run, stop);
  return run;
}
