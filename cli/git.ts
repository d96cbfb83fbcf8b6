/** What `--supersede` reads from the git work tree it runs in: the branch and the repository. */
import { execFileSync } from "node:child_process";

function git(dir: string, ...args: string[]): string | undefined {
  try {
    const out = execFileSync("git", ["-C", dir, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return out === "" ? undefined : out;
  } catch {
    return undefined;
  }
}

/** The branch checked out (`refs/heads/main`); undefined on a detached HEAD or outside git. */
export const branchRefOf = (dir: string) => git(dir, "symbolic-ref", "-q", "HEAD");

/**
 * `owner/name` of the `origin` remote (`git@github.com:acme/mobile.git`,
 * `https://github.com/acme/mobile`), as the GitHub App and the Action name a run's repo.
 */
export function repoOf(dir: string): string | undefined {
  const url = git(dir, "remote", "get-url", "origin");
  const match = url && /[/:]([^/:]+\/[^/]+?)(?:\.git)?\/?$/.exec(url);
  return match ? match[1] : undefined;
}
