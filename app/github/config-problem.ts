/**
 * An unusable `.github/qgjob.yml` (or tests that match nothing) is reported where the author
 * looks: a completed, failed check run on the commit listing each problem, with an annotation on
 * the config file at the line of each. Nothing is queued. Its external_id names the delivery and
 * what triggered it: a delivery processed again finds the check run it already made, and a
 * "Re-run" of it plans the commit again (the author may have fixed a file it names).
 */
import {
  ANNOTATIONS_PER_REQUEST,
  clipBytes,
  clipChars,
  MAX_ANNOTATION_BYTES,
  MAX_OUTPUT_BYTES,
} from "./limits.js";
import type { Trigger } from "./plan.js";
import { CONFIG_PATH } from "./repo-config.js";
import type { Octokit } from "./repo-reader.js";
import type { CommitRef } from "./submit.js";

export const CONFIG_CHECK_NAME = "qgjob";
const EXTERNAL_PREFIX = "config:";

/** `config:<event>:<delivery>:<ref>`. */
export const configCheckId = (trigger: Pick<Trigger, "event" | "ref">, deliveryId: string) =>
  `${EXTERNAL_PREFIX}${trigger.event}:${deliveryId}:${trigger.ref}`;

/** What a config check run's external_id says triggered it, or null for any other. */
export function parseConfigCheckId(externalId: string | null | undefined) {
  if (!externalId?.startsWith(EXTERNAL_PREFIX)) return null;
  const [event = "", , ...ref] = externalId.slice(EXTERNAL_PREFIX.length).split(":");
  return { event, ref: ref.join(":") };
}

export function problemSummary(problems: readonly string[]): string {
  const items = problems.map((p) => `- ${p.replace(/\n/g, " ")}`).join("\n");
  return clipBytes(
    `qgjob did not queue any tests for this commit: fix these in \`${CONFIG_PATH}\` ` +
      `(or in the files it names) and push again.\n\n${items}`,
    MAX_OUTPUT_BYTES,
  );
}

/** One annotation per problem on the config file, at the line the problem names (else line 1). */
export function problemAnnotations(problems: readonly string[]) {
  return problems.slice(0, ANNOTATIONS_PER_REQUEST).map((problem) => {
    const line = Number(/\(line (\d+)\)/.exec(problem)?.[1] ?? 1);
    return {
      path: CONFIG_PATH,
      start_line: line,
      end_line: line,
      annotation_level: "failure" as const,
      title: clipChars(`${CONFIG_PATH}: qgjob cannot use this`, 255),
      message: clipBytes(problem.replace(`${CONFIG_PATH}: `, ""), MAX_ANNOTATION_BYTES),
    };
  });
}

export async function reportConfigProblem(
  octokit: Octokit,
  commit: CommitRef,
  trigger: Pick<Trigger, "event" | "ref">,
  deliveryId: string,
  problems: readonly string[],
  now: number,
): Promise<void> {
  const externalId = configCheckId(trigger, deliveryId);
  // Made already by an earlier try of this delivery whose answer was lost.
  const { data } = await octokit.rest.checks.listForRef({
    owner: commit.owner,
    repo: commit.repo,
    ref: commit.sha,
    check_name: CONFIG_CHECK_NAME,
    filter: "all",
  });
  if (data.check_runs.some((c) => c.external_id === externalId)) return;
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  await octokit.rest.checks.create({
    owner: commit.owner,
    repo: commit.repo,
    name: CONFIG_CHECK_NAME,
    head_sha: commit.sha,
    external_id: externalId,
    status: "completed",
    conclusion: "failure",
    completed_at: new Date(now).toISOString(),
    output: {
      title: `${CONFIG_PATH}: ${count}`,
      summary: problemSummary(problems),
      annotations: problemAnnotations(problems),
    },
  });
}
