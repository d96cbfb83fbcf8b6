import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_PATH, parseRepoConfig } from "./repo-config.js";
import { resolveTests } from "./test-files.js";

describe("parseRepoConfig", () => {
  it("fills in defaults around the tests", () => {
    expect(parseRepoConfig("tests: [tests/*.spec.ts]\n")).toEqual({
      ok: true,
      config: {
        app_version: { from: "sha" },
        root: "",
        bundle: true,
        supersede: true,
        tests: ["tests/*.spec.ts"],
        targets: [{ target: "emulator", device: undefined }],
        priority: 5,
        retries: 0,
        max_attempts: 3,
        timeout_s: 900,
      },
    });
  });

  it("reads every setting", () => {
    const res = parseRepoConfig(`
org: acme
app_version: { from: file, path: android/version.txt }
root: ./examples/appwright-demo/
tests: [tests/login.spec.ts, "tests/**/*.spec.ts"]
targets:
  - emulator
  - { target: device, device: Pixel 7 }
priority: 8
retries: 1
max_attempts: 2
timeout_s: 600
branches: [main, "release/*"]
`);
    expect(res).toMatchObject({
      ok: true,
      config: {
        org: "acme",
        app_version: { from: "file", path: "android/version.txt" },
        root: "examples/appwright-demo",
        targets: [
          { target: "emulator", device: undefined },
          { target: "device", device: "Pixel 7" },
        ],
        priority: 8,
        branches: ["main", "release/*"],
      },
    });
  });

  it("says what is wrong and on which line", () => {
    const res = parseRepoConfig("tests:\n  - a.spec.ts\ntargets:\n  - phone\nretries: 9\nfoo: 1\n");
    expect(res).toEqual({
      ok: false,
      problems: [
        "targets.0: one of emulator, device, browserstack, or { target: <target>, device: <name> } (line 4)",
        "retries: Too big: expected number to be <=5 (line 5)",
        'top level: Unrecognized key: "foo"',
      ],
    });
  });

  it("reports YAML syntax errors with their line", () => {
    const res = parseRepoConfig("tests: [a\nroot: x\n");
    expect(res.ok).toBe(false);
    expect(!res.ok && res.problems[0]).toMatch(/^YAML: .*\(line \d\)$/);
  });

  it("requires tests, and refuses a root that climbs out of the repository", () => {
    const res = parseRepoConfig("root: ../elsewhere\n");
    expect(res).toEqual({
      ok: false,
      problems: [
        "root: a folder in the repository (line 1)",
        "tests: Invalid input: expected array, received undefined",
      ],
    });
  });
});

describe("this repository's own .github/qgjob.yml", () => {
  it("is valid and names tests that exist", () => {
    const root = join(import.meta.dirname, "../..");
    const parsed = parseRepoConfig(readFileSync(join(root, CONFIG_PATH), "utf8"));
    expect(parsed.ok && parsed.config.root).toBe("examples/appwright-demo");
    const files = execFileSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).split("\n");
    const { tests, problems } = resolveTests(
      parsed.ok ? parsed.config.tests : [],
      files,
      "examples/appwright-demo",
    );
    expect(problems).toEqual([]);
    expect(tests).toEqual(["tests/welcome.spec.ts", "tests/passing.spec.ts"]);
  });
});
