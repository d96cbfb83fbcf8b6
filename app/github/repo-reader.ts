/** Reads a repository at one commit through the GitHub API (contents and git trees). */
import type { ProbotOctokit } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface RepoReader {
  /** The file's text, or null when the commit has no such file. */
  readFile(path: string): Promise<string | null>;
  /** Every file path (blobs) in the commit's tree. */
  listFiles(): Promise<string[]>;
}

export class TreeTooLargeError extends Error {}

const status = (err: unknown) => (err as { status?: number }).status;

export function repoReader(octokit: Octokit, owner: string, repo: string, sha: string): RepoReader {
  return {
    async readFile(path) {
      try {
        const res = await octokit.rest.repos.getContent({ owner, repo, path, ref: sha });
        const data = res.data;
        if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
        return Buffer.from(data.content, "base64").toString("utf8");
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async listFiles() {
      const res = await octokit.rest.git.getTree({ owner, repo, tree_sha: sha, recursive: "1" });
      // A truncated listing would silently drop tests from globs: better to say so.
      if (res.data.truncated) {
        throw new TreeTooLargeError(
          "the commit's tree is too large for one GitHub listing; list test paths without globs",
        );
      }
      return res.data.tree.filter((e) => e.type === "blob" && e.path).map((e) => e.path!);
    },
  };
}

/** The commit a ref (`refs/heads/main`) points at now. */
export async function commitOf(octokit: Octokit, owner: string, repo: string, ref: string) {
  // The commits API takes `heads/main` or `tags/v1`, not the full ref name.
  const { data } = await octokit.rest.repos.getCommit({
    owner,
    repo,
    ref: ref.replace(/^refs\//, ""),
  });
  return data.sha;
}
