/**
 * What a push, a workflow_dispatch, a merge group or a re-requested check asks for: the config at that commit, checked against the
 * branch filter, the installation's org and the commit's files. Either nothing (no config, or a
 * branch the config leaves out), a list of problems to report, or a run to submit per target.
 */
import picomatch from "picomatch";
import { AppVersionId } from "../../api/schemas.js";
import { orgProblem } from "./org.js";
import { CONFIG_PATH, parseRepoConfig, type RepoConfig } from "./repo-config.js";
import { TreeTooLargeError, type RepoReader } from "./repo-reader.js";
import { resolveTests } from "./test-files.js";

export interface Trigger {
  /** `rerequest`: someone asked for qgjob's checks on this commit again (no branch filter). */
  event: "push" | "workflow_dispatch" | "merge_group" | "rerequest";
  /** The installation's account login: its qgjob org. */
  account: string;
  sha: string;
  /** `refs/heads/main`, `refs/tags/v1`, `refs/heads/gh-readonly-queue/main/pr-1-<sha>`. */
  ref: string;
  /** merge_group: the branch the group merges into (`refs/heads/main`), which the filter checks. */
  baseRef?: string | undefined;
  /** workflow_dispatch inputs that override the config. */
  inputs?: { app_version?: string | undefined; tests?: string | undefined } | undefined;
}

export type Plan =
  | { kind: "ignore"; reason: string }
  | { kind: "invalid"; problems: string[] }
  | {
      kind: "submit";
      orgId: string;
      appVersionId: string;
      tests: string[];
      config: RepoConfig;
    };

const invalid = (problems: string[]): Plan => ({ kind: "invalid", problems });

/** Test inputs are one string in GitHub's form: paths or globs split by commas or newlines. */
export const splitTestsInput = (text: string) =>
  text
    .split(/[,\n]/)
    .map((t) => t.trim())
    .filter(Boolean);

export const branchOf = (ref: string) =>
  ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null;

export async function planRun(trigger: Trigger, reader: RepoReader): Promise<Plan> {
  const text = await reader.readFile(CONFIG_PATH);
  if (text === null) return { kind: "ignore", reason: `no ${CONFIG_PATH} at this commit` };
  const parsed = parseRepoConfig(text);
  if (!parsed.ok) return invalid(parsed.problems.map((p) => `${CONFIG_PATH}: ${p}`));
  const config = parsed.config;

  if (trigger.event === "push" || trigger.event === "merge_group") {
    // Tags point at commits their branch pushes already ran. A merge group is filtered by the
    // branch it merges into, so a required check runs in the queue of each branch it guards.
    const ref = trigger.event === "merge_group" ? (trigger.baseRef ?? "") : trigger.ref;
    const branch = branchOf(ref);
    if (branch === null) return { kind: "ignore", reason: `${ref} is not a branch` };
    if (config.branches && !picomatch(config.branches)(branch)) {
      return { kind: "ignore", reason: `${branch} is not in the config's branches` };
    }
  }
  const wrongOrg = orgProblem(config.org, trigger.account);
  if (wrongOrg) return invalid([`${CONFIG_PATH}: org: ${wrongOrg}`]);

  const version = await appVersion(config, trigger, reader);
  if (!version.ok) return invalid([version.problem]);

  const patterns = trigger.inputs?.tests ? splitTestsInput(trigger.inputs.tests) : config.tests;
  let files: string[];
  try {
    files = await reader.listFiles();
  } catch (err) {
    if (err instanceof TreeTooLargeError) return invalid([`tests: ${err.message}`]);
    throw err;
  }
  const { tests, problems } = resolveTests(patterns, files, config.root);
  if (problems.length > 0) return invalid(problems);
  return { kind: "submit", orgId: trigger.account, appVersionId: version.id, tests, config };
}

type VersionResult = { ok: true; id: string } | { ok: false; problem: string };

async function appVersion(
  config: RepoConfig,
  trigger: Trigger,
  reader: RepoReader,
): Promise<VersionResult> {
  const source = config.app_version;
  let id: string;
  let origin: string;
  if (trigger.inputs?.app_version) {
    id = trigger.inputs.app_version.trim();
    origin = "the workflow_dispatch input app_version";
  } else if (typeof source === "string") {
    return { ok: true, id: source };
  } else if (source.from === "sha") {
    return { ok: true, id: trigger.sha };
  } else {
    const text = await reader.readFile(source.path);
    if (text === null) {
      return { ok: false, problem: `app_version: ${source.path} is not a file at this commit` };
    }
    id =
      text
        .split(/\r?\n/)
        .find((l) => l.trim() !== "")
        ?.trim() ?? "";
    origin = `the first line of ${source.path}`;
  }
  const checked = AppVersionId.safeParse(id);
  return checked.success
    ? { ok: true, id }
    : {
        ok: false,
        problem: `app_version: ${origin} (${JSON.stringify(id.slice(0, 80))}) is not an app version id: ${checked.error.issues[0]?.message}`,
      };
}
