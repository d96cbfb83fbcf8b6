/**
 * What the runner tells a step about where it runs (GITHUB_* variables), read once. Outside
 * GitHub (a local try) the fields are simply missing: the workspace is the current directory and
 * a submission gets a random idempotency key.
 */
export interface GithubContext {
  /** Where the repository is checked out (GITHUB_WORKSPACE), absolute. */
  workspace: string;
  repository: string | undefined;
  sha: string | undefined;
  ref: string | undefined;
  runId: string | undefined;
  runAttempt: string | undefined;
  job: string | undefined;
  /** The step's id, or `__owner_repo` (with `_2`, `_3` for later uses in the same job). */
  action: string | undefined;
}

const value = (text: string | undefined) => (text?.trim() ? text.trim() : undefined);

export function githubContext(env: NodeJS.ProcessEnv, cwd = process.cwd()): GithubContext {
  return {
    workspace: value(env.GITHUB_WORKSPACE) ?? cwd,
    repository: value(env.GITHUB_REPOSITORY),
    sha: value(env.GITHUB_SHA),
    ref: value(env.GITHUB_REF),
    runId: value(env.GITHUB_RUN_ID),
    runAttempt: value(env.GITHUB_RUN_ATTEMPT),
    job: value(env.GITHUB_JOB),
    action: value(env.GITHUB_ACTION),
  };
}
