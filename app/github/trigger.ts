/**
 * A push, a workflow_dispatch, a merge group or a re-requested suite, from delivery to queued runs:
 * the plan, the commit's test project as the runs' bundle, then either nothing, a failed config
 * check run, or runs and their check rows (the reporter creates the check runs). Runs after the webhook was answered; each step is idempotent
 * (submissions are keyed by the delivery id, the config check run by an external_id naming it),
 * so a delivery processed again after a failure or a restart finishes the work without doubling it.
 */
import type { Logger } from "pino";
import type { Blobs } from "../blobs/service.js";
import type { RunService } from "../runs.js";
import type { Store } from "../store/store.js";
import { bundleCommit } from "./bundle.js";
import { reportConfigProblem } from "./config-problem.js";
import { planRun, type Trigger } from "./plan.js";
import { repoReader, type Octokit } from "./repo-reader.js";
import { submitPlan, type CommitRef } from "./submit.js";

export interface TriggerDeps {
  store: Store;
  /** Submissions and re-runs, counted like the API's. */
  runs: RunService;
  /** Where the commit's test project is stored as the runs' bundle. */
  blobs: Blobs;
  clock: () => number;
  log: Logger;
}

export type TriggerOutcome = "ignored" | "invalid" | "submitted";

export async function handleTrigger(
  deps: TriggerDeps,
  deliveryId: string,
  commit: CommitRef,
  trigger: Trigger,
  octokit: Octokit,
): Promise<TriggerOutcome> {
  const { clock, log } = deps;
  const where = { delivery: deliveryId, repo: `${commit.owner}/${commit.repo}`, sha: commit.sha };
  const plan = await planRun(trigger, repoReader(octokit, commit.owner, commit.repo, commit.sha));
  if (plan.kind === "ignore") {
    log.info({ ...where, reason: plan.reason }, "GitHub trigger ignored");
    return "ignored";
  }
  if (plan.kind === "invalid") {
    log.info({ ...where, problems: plan.problems.length }, "GitHub trigger has config problems");
    await reportConfigProblem(octokit, commit, trigger, deliveryId, plan.problems, clock());
    return "invalid";
  }
  let bundle;
  if (plan.config.bundle) {
    const made = await bundleCommit(
      octokit,
      deps.blobs,
      commit,
      plan.config.root,
      plan.orgId,
      clock(),
    );
    if (!made.ok) {
      log.info({ ...where, problem: made.problem }, "GitHub trigger has no usable bundle");
      await reportConfigProblem(octokit, commit, trigger, deliveryId, [made.problem], clock());
      return "invalid";
    }
    bundle = made;
  }
  // Only a push makes the branch's earlier runs moot: a dispatch or a re-run is asked for.
  const supersede = plan.config.supersede && trigger.event === "push";
  const checks = await submitPlan(deps, plan, commit, {
    bundle: bundle?.bundle,
    supersede,
    deliveryId,
    now: clock(),
  });
  log.info(
    {
      ...where,
      runs: checks.map((c) => c.runId),
      tests: plan.tests.length,
      bundle: bundle && { sha256: bundle.bundle.sha256, files: bundle.files, bytes: bundle.bytes },
    },
    "GitHub trigger queued runs",
  );
  return "submitted";
}
