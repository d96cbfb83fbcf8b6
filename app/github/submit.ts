/**
 * A plan becomes one run per target (a check run reports each) and the check rows the reporter
 * works from. Keyed by the webhook's delivery id, so a handler interrupted half-way and run again
 * on the redelivery finishes the job instead of doubling it.
 */
import type { BundleRef, SubmitRunInput } from "../../api/schemas.js";
import type { RunService } from "../runs.js";
import type { GithubCheckRecord, Store } from "../store/store.js";
import type { Plan } from "./plan.js";

export interface CommitRef {
  installationId: number;
  owner: string;
  repo: string;
  sha: string;
  ref: string;
}

export const checkName = (target: string, device?: string) =>
  `qgjob (${device ? `${target}: ${device}` : target})`;

export async function submitPlan(
  { store, runs }: { store: Store; runs: RunService },
  plan: Extract<Plan, { kind: "submit" }>,
  commit: CommitRef,
  {
    bundle,
    supersede,
    deliveryId,
    now,
  }: { bundle: BundleRef | undefined; supersede: boolean; deliveryId: string; now: number },
): Promise<GithubCheckRecord[]> {
  const { config } = plan;
  const checks = [];
  for (const { target, device } of config.targets) {
    const input: SubmitRunInput = {
      org_id: plan.orgId,
      app_version_id: plan.appVersionId,
      tests: plan.tests,
      target,
      device,
      priority: config.priority,
      retries: config.retries,
      max_attempts: config.max_attempts,
      timeout_s: config.timeout_s,
      tags: [],
      source: "github",
      repo: `${commit.owner}/${commit.repo}`,
      sha: commit.sha,
      ref: commit.ref,
      bundle,
      supersede,
    };
    const name = checkName(target, device);
    const { run } = await runs.submit({ orgId: plan.orgId }, input, `github:${deliveryId}:${name}`);
    checks.push({
      installationId: commit.installationId,
      owner: commit.owner,
      repo: commit.repo,
      sha: commit.sha,
      name,
      target,
      runId: run.id,
      orgId: plan.orgId,
      testRoot: config.root,
    });
  }
  return store.addGithubChecks(checks, now);
}
