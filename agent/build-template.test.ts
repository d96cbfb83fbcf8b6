import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildPathProblem, buildTemplateProblem, resolveBuildTemplate } from "./build-template.js";

describe("build templates", () => {
  it.each([
    "./builds/{app_version_id}.apk",
    "https://builds.example.com/app/{app_version_id}.apk",
    "https://builds.example.com:8443/get?version={app_version_id}",
  ])("accepts %s", (t) => expect(buildTemplateProblem(t)).toBeNull());

  it.each([
    "https://{app_version_id}.builds.example.com/app.apk",
    "http://builds.example.com:{app_version_id}/app.apk",
    "https://user:{app_version_id}@builds.example.com/app.apk",
    "http://{app_version_id}",
  ])("refuses the version in the host part of %s", (t) =>
    expect(buildTemplateProblem(t)).toMatch(/only in the path or query/),
  );

  it("keeps a resolved URL on the template's host, whatever the version id holds", () => {
    const t = "https://builds.example.com/{app_version_id}.apk";
    expect(resolveBuildTemplate(t, "1.0+1")).toBe("https://builds.example.com/1.0+1.apk");
    // '@' is allowed in version ids; here it cannot turn the path into credentials.
    expect(resolveBuildTemplate(t, "v@evil.example")).toBe(
      "https://builds.example.com/v@evil.example.apk",
    );
    expect(() =>
      resolveBuildTemplate("https://builds.example.com{app_version_id}", "@evil.example:9"),
    ).toThrow(/off builds.example.com/);
  });
});

describe("a path template at agent start", () => {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-template-"));
  mkdirSync(join(dir, "builds"));
  writeFileSync(join(dir, "builds", "one.apk"), "");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    "./builds/{app_version_id}.apk",
    "builds/{app_version_id}/app.apk",
    "builds/one.apk",
    "https://builds.example.com/{app_version_id}.apk",
  ])("accepts %s", (t) => expect(buildPathProblem(t, dir)).toBeNull());

  it("names the missing directory, or the missing file of a template without a placeholder", () => {
    expect(buildPathProblem("./bulds/{app_version_id}.apk", dir)).toBe(
      `${join(dir, "bulds")} does not exist (the builds' directory)`,
    );
    expect(buildPathProblem("builds/two.apk", dir)).toBe(
      `${join(dir, "builds", "two.apk")} does not exist`,
    );
  });
});
