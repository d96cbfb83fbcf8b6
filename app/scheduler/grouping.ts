import { highest, lowest } from "./extremes.js";
import type { Group, GroupingStrategy, QueuedJob } from "./types.js";

/** One install of an app version serves every test of that build on a target. */
export const byAppVersion: GroupingStrategy = {
  name: "app_version",
  keyOf: (job) => `${job.orgId}|${job.appVersionId}|${job.target}`,
};

/** For jobs pinned to a device model: each model is its own group, "*" is "any device". */
export const byAppVersionAndDevice: GroupingStrategy = {
  name: "app_version_device",
  keyOf: (job) => `${byAppVersion.keyOf(job)}|${job.device ?? "*"}`,
};

/**
 * One repository's tests batch apart from another's built into the same app (a monorepo app
 * tested from several repos): "*" is "no repo". The app version stays in the key, as in every
 * strategy, because a group is what one install serves.
 */
export const byAppVersionAndRepo: GroupingStrategy = {
  name: "app_version_repo",
  keyOf: (job) => `${byAppVersion.keyOf(job)}|${job.repo || "*"}`,
};

/**
 * Jobs with the same tags (e.g. every `@smoke` test) batch together, apart from the rest of the
 * build: "@smoke" and "smoke" are one tag, order and repeats do not matter, "*" is "untagged".
 */
export const byAppVersionAndTags: GroupingStrategy = {
  name: "app_version_tags",
  keyOf: (job) => `${byAppVersion.keyOf(job)}|${tagSet(job.tags) || "*"}`,
};

function tagSet(tags: readonly string[]): string {
  return [...new Set(tags.map((tag) => tag.replace(/^@/, "")))].sort(compareStrings).join(",");
}

/** Looked up by the configured name; indexing yields `undefined` for an unknown name. */
export const groupingStrategies: Readonly<Record<string, GroupingStrategy>> = {
  [byAppVersion.name]: byAppVersion,
  [byAppVersionAndDevice.name]: byAppVersionAndDevice,
  [byAppVersionAndRepo.name]: byAppVersionAndRepo,
  [byAppVersionAndTags.name]: byAppVersionAndTags,
};

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The order a device should run a group in: urgent work first, then the longest tests so
 * that a split group's batches end at about the same time; the rest only for determinism.
 */
export function compareJobs(a: QueuedJob, b: QueuedJob): number {
  return (
    b.priority - a.priority ||
    b.expectedMs - a.expectedMs ||
    a.queuedAt - b.queuedAt ||
    compareStrings(a.id, b.id)
  );
}

/** Groups sorted by key, so that the same queue always yields the same groups. */
export function groupJobs(jobs: readonly QueuedJob[], strategy: GroupingStrategy): Group[] {
  const jobsByKey = new Map<string, QueuedJob[]>();
  for (const job of jobs) {
    const key = strategy.keyOf(job);
    const members = jobsByKey.get(key);
    if (members) members.push(job);
    else jobsByKey.set(key, [job]);
  }
  return [...jobsByKey]
    .map(([key, members]) => toGroup(key, members.sort(compareJobs)))
    .sort((a, b) => compareStrings(a.key, b.key));
}

function toGroup(key: string, jobs: QueuedJob[]): Group {
  const [first] = jobs;
  if (!first) throw new Error(`group ${key} has no jobs`);
  return {
    key,
    // Every strategy keys on org, app version and target, so the first job speaks for all.
    orgId: first.orgId,
    appVersionId: first.appVersionId,
    target: first.target,
    jobs,
    priority: highest(jobs.map((job) => job.priority)),
    oldestQueuedAt: lowest(jobs.map((job) => job.queuedAt)),
    workMs: jobs.reduce((sum, job) => sum + job.expectedMs, 0),
  };
}
