import { describe, expect, it } from "vitest";
import { buildTemplateProblem, resolveBuildTemplate } from "./build-template.js";

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
