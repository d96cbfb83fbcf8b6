/**
 * `npm run release:action` into a temporary git repository: the tree a user's `uses:
 * qualgent/qgjob-action@v1` gets, the tags, and the compatibility guard of the major tag.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { releaseAction } from "../../scripts/release-action.js";
import { renderTables } from "../../scripts/docs/action-tables.js";
import { tempDir } from "../harness.js";

const ROOT = join(import.meta.dirname, "../..");
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

// `npm run` and tsx start slowly on a loaded machine.
vi.setConfig({ testTimeout: 120_000 });

/** Runs the npm script as a person cutting a release would. */
function releaseScript(to: string, version: string, from = ROOT) {
  return spawnSync(
    "npm",
    ["run", "--silent", "release:action", "--", to, "--version", version, "--from", from],
    { cwd: ROOT, encoding: "utf8" },
  );
}

describe("npm run release:action", () => {
  it("assembles the action repository, tags the release and moves the major tag", () => {
    const to = join(tempDir("qgjob-action-repo-"), "qgjob-action");
    const first = releaseScript(to, "1.0.0");
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^released v1\.0\.0 in .*; v1 moved to it\./);

    expect(readdirSync(to).sort()).toEqual([".git", "LICENSE", "README.md", "action.yml", "dist"]);
    expect(readdirSync(join(to, "dist"))).toEqual(["action"]);
    expect(readFileSync(join(to, "action.yml"), "utf8")).toBe(
      readFileSync(join(ROOT, "action.yml"), "utf8"),
    );
    expect(readFileSync(join(to, "dist/action/index.js"))).toEqual(
      readFileSync(join(ROOT, "dist/action/index.js")),
    );
    const readme = readFileSync(join(to, "README.md"), "utf8");
    expect(readme).toContain("uses: qualgent/qgjob-action@v1");
    expect(readme).toContain("runner\nv2.327.1 or later");
    expect(readme).toContain(renderTables(readFileSync(join(ROOT, "action.yml"), "utf8")));
    expect(readme).toContain("| `run-url` ");
    expect(git(to, "status", "--porcelain")).toBe("");
    const v100 = git(to, "rev-parse", "v1.0.0^{commit}");
    expect(git(to, "rev-parse", "v1^{commit}")).toBe(v100);

    // The next minor release moves v1; v1.0.0 stays.
    expect(releaseAction({ from: ROOT, to, version: "1.1.0" })).toMatchObject({ tag: "v1.1.0" });
    const v110 = git(to, "rev-parse", "v1.1.0^{commit}");
    expect(v110).not.toBe(v100);
    expect(git(to, "rev-parse", "v1^{commit}")).toBe(v110);
    expect(git(to, "rev-parse", "v1.0.0^{commit}")).toBe(v100);

    // A version is released once.
    expect(() => releaseAction({ from: ROOT, to, version: "1.1.0" })).toThrow(
      `v1.1.0 is already released in ${to}`,
    );
  });

  it("refuses a release that would break the major tag's users; a new major is fine", () => {
    const to = join(tempDir("qgjob-action-repo-"), "qgjob-action");
    releaseAction({ from: ROOT, to, version: "1.0.0" });

    // A source whose action.yml drops an input and makes another required.
    const from = tempDir("qgjob-source-");
    for (const f of ["package.json", "LICENSE", "dist/action"]) {
      cpSync(join(ROOT, f), join(from, f), { recursive: true });
    }
    const yml = readFileSync(join(ROOT, "action.yml"), "utf8")
      .replace(/\n {2}fail-on-flaky:\n(?: {4}.*\n)+/, "\n")
      .replace(/(\n {2}device:\n(?: {4}.*\n)*? {4}required:) false/, "$1 true");
    writeFileSync(join(from, "action.yml"), yml);

    expect(() => releaseAction({ from, to, version: "1.1.0" })).toThrow(
      "v1.1.0 would break v1 users: input device is now required; input fail-on-flaky was removed. Release it as a new major version instead.",
    );
    expect(existsSync(join(to, ".git/refs/tags/v1.1.0"))).toBe(false);

    expect(releaseAction({ from, to, version: "2.0.0" })).toMatchObject({ major: "v2" });
    expect(git(to, "rev-parse", "v2^{commit}")).toBe(git(to, "rev-parse", "HEAD"));
    expect(git(to, "rev-parse", "v1^{commit}")).toBe(git(to, "rev-parse", "v1.0.0^{commit}"));
  });
});
