/**
 * A push or a workflow_dispatch, from delivery to queued runs: the plan, then either nothing, a
 * failed config check run, or runs and their check rows (the reporter creates the check runs).
 * The delivery id is recorded last, so a handler that died half-way is finished by the redelivery
 * (each step is idempotent) and a complete one is not repeated.
 */
import type { Logger } from "pino";
import type { RunService } from "../runs.js";
import type { Store } from "../store/store.js";
import { reportConfigProblem } from "./config-problem.js";
import { planRun, type Trigger } from "./plan.js";
import { repoReader, type Octokit } from "./repo-reader.js";
import { submitPlan, type CommitRef } from "./submit.js";

export interface TriggerDeps {
  store: Store;
  /** Submissions and re-runs, counted like the API's. */
  runs: RunService;
  clock: () => number;
  log: Logger;
}

export type TriggerOutcome = "duplicate" | "ignored" | "invalid" | "submitted";

export async function handleTrigger(
  deps: TriggerDeps,
  delivery: { id: string; event: string },
  commit: CommitRef,
  trigger: Trigger,
  octokit: Octokit,
): Promise<TriggerOutcome> {
  const { store, clock, log } = deps;
  if (await store.githubDeliverySeen(delivery.id)) return "duplicate";
  const where = { delivery: delivery.id, repo: `${commit.owner}/${commit.repo}`, sha: commit.sha };
  const plan = await planRun(trigger, repoReader(octokit, commit.owner, commit.repo, commit.sha));
  let outcome: TriggerOutcome;
  if (plan.kind === "ignore") {
    log.info({ ...where, reason: plan.reason }, "GitHub trigger ignored");
    outcome = "ignored";
  } else if (plan.kind === "invalid") {
    log.info({ ...where, problems: plan.problems }, "GitHub trigger has config problems");
    await reportConfigProblem(octokit, commit, plan.problems, clock());
    outcome = "invalid";
  } else {
    const checks = await submitPlan(deps, plan, commit, delivery.id, clock());
    log.info(
      { ...where, runs: checks.map((c) => c.runId), tests: plan.tests.length },
      "GitHub trigger queued runs",
    );
    outcome = "submitted";
  }
  await store.recordGithubDelivery(delivery.id, delivery.event, clock());
  return outcome;
}
