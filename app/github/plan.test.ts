import { describe, expect, it } from "vitest";
import { planRun, splitTestsInput, type Trigger } from "./plan.js";
import type { RepoReader } from "./repo-reader.js";

const SHA = "c0ffee".padEnd(40, "0");

function reader(files: Record<string, string>): RepoReader {
  return {
    readFile: async (path) => files[path] ?? null,
    listFiles: async () => Object.keys(files),
  };
}

const push = (extra: Partial<Trigger> = {}): Trigger => ({
  event: "push",
  account: "acme",
  sha: SHA,
  ref: "refs/heads/main",
  ...extra,
});

const repo = (config: string, more: Record<string, string> = {}) =>
  reader({ ".github/qgjob.yml": config, "tests/a.spec.ts": "", "tests/b.spec.ts": "", ...more });

describe("planRun", () => {
  it("ignores a commit without the config", async () => {
    expect(await planRun(push(), reader({ "README.md": "" }))).toMatchObject({ kind: "ignore" });
  });

  it("submits into the installation's org, with the commit SHA as app version by default", async () => {
    expect(await planRun(push(), repo("tests: ['tests/*.spec.ts']"))).toMatchObject({
      kind: "submit",
      orgId: "acme",
      appVersionId: SHA,
      tests: ["tests/a.spec.ts", "tests/b.spec.ts"],
    });
  });

  it("reads the app version from a file at the commit", async () => {
    const config = "app_version: { from: file, path: VERSION }\ntests: [tests/a.spec.ts]";
    const plan = await planRun(push(), repo(config, { VERSION: "\n 2.4.1+77 \n" }));
    expect(plan).toMatchObject({ kind: "submit", appVersionId: "2.4.1+77" });
    expect(await planRun(push(), repo(config))).toEqual({
      kind: "invalid",
      problems: ["app_version: VERSION is not a file at this commit"],
    });
    expect(await planRun(push(), repo(config, { VERSION: "no spaces allowed" }))).toMatchObject({
      kind: "invalid",
      problems: [expect.stringContaining('the first line of VERSION ("no spaces allowed")')],
    });
  });

  it("ignores tag pushes", async () => {
    expect(await planRun(push({ ref: "refs/tags/v1" }), repo("tests: [tests/a.spec.ts]"))).toEqual({
      kind: "ignore",
      reason: "refs/tags/v1 is not a branch",
    });
  });

  it("applies the branch filter to pushes only", async () => {
    const config = "tests: [tests/a.spec.ts]\nbranches: [main, 'release/*']";
    expect(await planRun(push({ ref: "refs/heads/release/2.4" }), repo(config))).toMatchObject({
      kind: "submit",
    });
    expect(await planRun(push({ ref: "refs/heads/feature" }), repo(config))).toMatchObject({
      kind: "ignore",
    });
    const dispatch = push({ event: "workflow_dispatch", ref: "refs/heads/feature" });
    expect(await planRun(dispatch, repo(config))).toMatchObject({ kind: "submit" });
  });

  it("lets workflow_dispatch inputs override the app version and the tests", async () => {
    const trigger = push({
      event: "workflow_dispatch",
      inputs: { app_version: "build-9", tests: "tests/b.spec.ts,\n" },
    });
    expect(await planRun(trigger, repo("tests: ['tests/*.spec.ts']"))).toMatchObject({
      kind: "submit",
      appVersionId: "build-9",
      tests: ["tests/b.spec.ts"],
    });
  });

  it("refuses another org", async () => {
    expect(await planRun(push(), repo("org: globex\ntests: [tests/a.spec.ts]"))).toMatchObject({
      kind: "invalid",
      problems: [expect.stringContaining("only into the org acme, not globex")],
    });
    expect(await planRun(push(), repo("org: ACME\ntests: [tests/a.spec.ts]"))).toMatchObject({
      kind: "submit",
      orgId: "acme",
    });
  });
});

describe("splitTestsInput", () => {
  it("splits on commas and newlines", () => {
    expect(splitTestsInput(" a.spec.ts, b/*.ts\nc.ts\n\n")).toEqual([
      "a.spec.ts",
      "b/*.ts",
      "c.ts",
    ]);
  });
});
