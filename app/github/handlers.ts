/**
 * Webhook deliveries to calls: which ones qgjob acts on (decided from the payload alone, before
 * any API call or database write), and, after the answer, what each one does.
 */
import { RERUN_FAILED_ACTION } from "./check-output.js";
import { CONFIG_CHECK_NAME, parseConfigCheckId } from "./config-problem.js";
import type { Trigger } from "./plan.js";
import { commitOf, type Octokit } from "./repo-reader.js";
import { rerunChecks } from "./rerun.js";
import type { CommitRef } from "./submit.js";
import { handleTrigger, type TriggerDeps } from "./trigger.js";

export interface HandlerDeps extends TriggerDeps {
  octokitFor(installationId: number): Promise<Octokit>;
}

export interface Delivery {
  id: string;
  event: string;
  payload: unknown;
}

/** The fields of GitHub's webhook payloads that qgjob reads (each event has some of them). */
interface Payload {
  action?: string;
  installation?: { id: number };
  repository?: { full_name: string };
  ref?: string;
  after?: string;
  deleted?: boolean;
  inputs?: Record<string, unknown> | null;
  merge_group?: { head_sha: string; head_ref: string; base_ref: string };
  check_run?: { id: number; name: string; head_sha: string; external_id: string | null };
  check_suite?: { head_sha: string; head_branch: string | null };
  requested_action?: { identifier?: string };
}

const ZERO_SHA = /^0+$/;
/** The branches GitHub's merge queue pushes: the merge_group event runs them. */
const MERGE_QUEUE_BRANCH = "refs/heads/gh-readonly-queue/";

const ownerAndRepo = (fullName: string) => {
  const [owner = "", repo = ""] = fullName.split("/");
  return { owner, repo };
};

/** Why this delivery needs no work, or null when it does. */
export function ignoredBecause(event: string, payload: unknown): string | null {
  const p = (payload ?? {}) as Payload;
  if (!p.installation?.id || !p.repository?.full_name) return "not from an App installation";
  switch (event) {
    case "push":
      if (p.deleted || typeof p.after !== "string" || ZERO_SHA.test(p.after))
        return "a deleted ref";
      if (typeof p.ref !== "string" || !p.ref.startsWith("refs/heads/"))
        return `${p.ref} is not a branch`;
      if (p.ref.startsWith(MERGE_QUEUE_BRANCH)) return "a merge queue branch (merge_group runs it)";
      return null;
    case "workflow_dispatch":
      return typeof p.ref === "string" ? null : "no ref";
    case "merge_group":
      if (p.action !== "checks_requested") return `merge_group.${p.action}`;
      return p.merge_group?.head_sha ? null : "no merge group";
    case "check_run":
      if (!p.check_run?.id) return "no check run";
      if (p.action === "rerequested") return null;
      if (p.action === "requested_action" && p.requested_action?.identifier === RERUN_FAILED_ACTION)
        return null;
      return `check_run.${p.action}`;
    case "check_suite":
      if (p.action !== "rerequested") return `check_suite.${p.action}`;
      return p.check_suite?.head_sha ? null : "no check suite";
    default:
      return `${event} is not an event qgjob handles`;
  }
}

export async function handleDelivery(deps: HandlerDeps, d: Delivery): Promise<void> {
  if (ignoredBecause(d.event, d.payload) !== null) return;
  // ignoredBecause checked the fields each event below reads.
  const p = d.payload as Required<Payload>;
  const installationId = p.installation.id;
  const { owner, repo } = ownerAndRepo(p.repository.full_name);
  const octokit = await deps.octokitFor(installationId);
  const run = (sha: string, ref: string, trigger: Omit<Trigger, "account" | "sha" | "ref">) => {
    const commit: CommitRef = { installationId, owner, repo, sha, ref };
    return handleTrigger(deps, d.id, commit, { ...trigger, account: owner, sha, ref }, octokit);
  };

  switch (d.event) {
    case "push":
      await run(p.after, p.ref, { event: "push" });
      return;
    case "workflow_dispatch": {
      // The event names a ref, not a commit: run what it points at now.
      const sha = await commitOf(octokit, owner, repo, p.ref);
      const inputs = (p.inputs ?? {}) as Record<string, unknown>;
      const text = (k: string) => (typeof inputs[k] === "string" ? inputs[k] : undefined);
      await run(sha, p.ref, {
        event: "workflow_dispatch",
        inputs: { app_version: text("app_version"), tests: text("tests") },
      });
      return;
    }
    case "merge_group":
      await run(p.merge_group.head_sha, p.merge_group.head_ref, {
        event: "merge_group",
        baseRef: p.merge_group.base_ref,
      });
      return;
    case "check_run": {
      const mode = p.action === "rerequested" ? "all" : "failed";
      const check = await deps.store.findGithubCheck(installationId, p.check_run.id);
      if (check) return rerunChecks(deps, d.id, [check], mode);
      const config =
        p.check_run.name === CONFIG_CHECK_NAME && parseConfigCheckId(p.check_run.external_id);
      if (config && p.action === "rerequested") {
        await run(p.check_run.head_sha, config.ref, { event: "rerequest" });
      }
      return;
    }
    case "check_suite": {
      const sha: string = p.check_suite.head_sha;
      const checks = await deps.store.githubChecksOf({ installationId, owner, repo, sha });
      if (checks.length > 0) return rerunChecks(deps, d.id, checks, "all");
      // No runs on this commit (its config had problems): read the config again.
      const branch: string | null = p.check_suite.head_branch ?? null;
      await run(sha, branch ? `refs/heads/${branch}` : sha, { event: "rerequest" });
      return;
    }
  }
}
