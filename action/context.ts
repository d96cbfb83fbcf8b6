/**
 * What the runner tells a step about where it runs (GITHUB_* variables), read once. Outside
 * GitHub (a local try) the fields are simply missing: the workspace is the current directory and
 * a submission gets a random idempotency key.
 *
 * On pull request events GITHUB_SHA is the merge commit GitHub made for the test, which is in no
 * branch and not what the pull request shows: the run reports on the pull request's head commit,
 * read from the event payload (GITHUB_EVENT_PATH).
 */
import { readFileSync } from "node:fs";

export interface GithubContext {
  /** Where the repository is checked out (GITHUB_WORKSPACE), absolute. */
  workspace: string;
  repository: string | undefined;
  /** The commit the run reports on: the head commit on pull request events, else GITHUB_SHA. */
  sha: string | undefined;
  /** On pull request events: GITHUB_SHA, the merge commit, when it is not the head commit. */
  mergeSha: string | undefined;
  ref: string | undefined;
  runId: string | undefined;
  runAttempt: string | undefined;
  job: string | undefined;
  /** The step's id, or `__owner_repo` (with `_2`, `_3` for later uses in the same job). */
  action: string | undefined;
}

const value = (text: string | undefined) => (text?.trim() ? text.trim() : undefined);

/** Events whose payload carries `pull_request` and whose GITHUB_SHA is the merge commit. */
const PULL_REQUEST_EVENTS = ["pull_request", "pull_request_target", "pull_request_review"];

/** The pull request's head commit from the event payload; undefined when there is none. */
function headSha(env: NodeJS.ProcessEnv): string | undefined {
  const path = value(env.GITHUB_EVENT_PATH);
  if (!path || !PULL_REQUEST_EVENTS.includes(env.GITHUB_EVENT_NAME ?? "")) return undefined;
  try {
    const payload = JSON.parse(readFileSync(path, "utf8")) as {
      pull_request?: { head?: { sha?: unknown } };
    };
    const sha = payload.pull_request?.head?.sha;
    return typeof sha === "string" && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

export function githubContext(env: NodeJS.ProcessEnv, cwd = process.cwd()): GithubContext {
  const sha = value(env.GITHUB_SHA);
  const head = headSha(env);
  return {
    workspace: value(env.GITHUB_WORKSPACE) ?? cwd,
    repository: value(env.GITHUB_REPOSITORY),
    sha: head ?? sha,
    mergeSha: head && head !== sha ? sha : undefined,
    ref: value(env.GITHUB_REF),
    runId: value(env.GITHUB_RUN_ID),
    runAttempt: value(env.GITHUB_RUN_ATTEMPT),
    job: value(env.GITHUB_JOB),
    action: value(env.GITHUB_ACTION),
  };
}
