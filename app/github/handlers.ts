/** The webhook handlers: each parses its payload, calls a module, and returns. */
import type { ApplicationFunction } from "probot";
import { RERUN_FAILED_ACTION } from "./check-output.js";
import { handleRerunRequest } from "./rerun.js";
import { commitOf, type Octokit } from "./repo-reader.js";
import { handleTrigger, type TriggerDeps } from "./trigger.js";

const ZERO_SHA = /^0+$/;

const ownerAndRepo = (fullName: string) => {
  const [owner = "", repo = ""] = fullName.split("/");
  return { owner, repo };
};

export function githubHandlers(deps: TriggerDeps): ApplicationFunction {
  return (app) => {
    app.on("push", async (ctx) => {
      const p = ctx.payload;
      if (p.deleted || ZERO_SHA.test(p.after) || !p.installation) return;
      const commit = {
        installationId: p.installation.id,
        ...ownerAndRepo(p.repository.full_name),
        sha: p.after,
        ref: p.ref,
      };
      const trigger = { event: "push" as const, account: commit.owner, sha: p.after, ref: p.ref };
      await handleTrigger(
        deps,
        { id: ctx.id, event: "push" },
        commit,
        trigger,
        ctx.octokit as Octokit,
      );
    });

    app.on("workflow_dispatch", async (ctx) => {
      const p = ctx.payload;
      if (!p.installation) return;
      const { owner, repo } = ownerAndRepo(p.repository.full_name);
      // The event names a ref, not a commit: run what it points at now.
      const sha = await commitOf(ctx.octokit as Octokit, owner, repo, p.ref);
      const inputs = (p.inputs ?? {}) as Record<string, unknown>;
      const text = (k: string) => (typeof inputs[k] === "string" ? inputs[k] : undefined);
      const commit = { installationId: p.installation.id, owner, repo, sha, ref: p.ref };
      const trigger = {
        event: "workflow_dispatch" as const,
        account: owner,
        sha,
        ref: p.ref,
        inputs: { app_version: text("app_version"), tests: text("tests") },
      };
      await handleTrigger(
        deps,
        { id: ctx.id, event: "workflow_dispatch" },
        commit,
        trigger,
        ctx.octokit as Octokit,
      );
    });

    app.on("check_run.rerequested", async (ctx) => {
      const p = ctx.payload;
      if (p.installation) await handleRerunRequest(deps, ctx.id, p.installation.id, p.check_run.id);
    });

    app.on("check_run.requested_action", async (ctx) => {
      const p = ctx.payload;
      if (p.installation && p.requested_action?.identifier === RERUN_FAILED_ACTION)
        await handleRerunRequest(deps, ctx.id, p.installation.id, p.check_run.id);
    });
  };
}
