/**
 * An unusable `.github/qgjob.yml` (or tests that match nothing) is reported where the author
 * looks: a completed, failed check run on the commit listing each problem. Nothing is queued.
 */
import { CONFIG_PATH } from "./repo-config.js";
import type { Octokit } from "./repo-reader.js";
import type { CommitRef } from "./submit.js";

export const CONFIG_CHECK_NAME = "qgjob";

export function problemSummary(problems: readonly string[]): string {
  const items = problems.map((p) => `- ${p.replace(/\n/g, " ")}`).join("\n");
  return (
    `qgjob did not queue any tests for this commit: fix these in \`${CONFIG_PATH}\` ` +
    `(or in the files it names) and push again.\n\n${items}`
  ).slice(0, 65_535);
}

export async function reportConfigProblem(
  octokit: Octokit,
  commit: CommitRef,
  problems: readonly string[],
  now: number,
): Promise<void> {
  await octokit.rest.checks.create({
    owner: commit.owner,
    repo: commit.repo,
    name: CONFIG_CHECK_NAME,
    head_sha: commit.sha,
    status: "completed",
    conclusion: "failure",
    completed_at: new Date(now).toISOString(),
    output: {
      title: `${CONFIG_PATH}: ${problems.length === 1 ? "1 problem" : `${problems.length} problems`}`,
      summary: problemSummary(problems),
    },
  });
}
