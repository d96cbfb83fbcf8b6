/**
 * Where a test lives in the repository. Agents run tests from a project folder (the test root),
 * so job paths are relative to it; GitHub wants repository paths, so reports put the prefix back.
 */
import { posix } from "node:path";
import type { Job } from "../api/schemas.js";

export interface RepoPrefix {
  /** The test root relative to the repository, forward slashes: "" for the repository itself. */
  prefix: string;
}

/** A path relative to the test root, as a path in the repository. */
export function repoPath(root: RepoPrefix, path: string): string {
  return root.prefix ? posix.join(root.prefix, path) : path;
}

const isAbsolutePath = (p: string) => p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p);

/**
 * Where a job's failure points in the repository: the file and line the runner reported (relative
 * to the test root), else the test file itself. An absolute path (the agent's own disk) is of no
 * use on GitHub, so the test file stands in for it.
 */
export function jobLocation(
  job: Pick<Job, "test_path" | "result">,
  root: RepoPrefix,
): { file: string; line: number | null } {
  const file = job.result?.file;
  const usable = !!file && !isAbsolutePath(file);
  return {
    file: repoPath(root, usable ? file : job.test_path),
    line: usable ? (job.result?.line ?? null) : null,
  };
}
