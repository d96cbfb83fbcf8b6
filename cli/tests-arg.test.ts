import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandTests, isGlob, normalizeTestPath } from "./tests-arg.js";

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "qgjob-tests-arg-"));
  for (const f of [
    "tests/login.spec.js",
    "tests/onboarding.spec.js",
    "tests/checkout/cart.spec.js",
    "tests/README.md",
    "tests/.hidden.spec.js",
    "node_modules/lib/tests/x.spec.js",
  ]) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), "");
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("isGlob", () => {
  it.each([
    ["tests/*.spec.js", true],
    ["tests/**/x.js", true],
    ["tests/{a,b}.js", true],
    ["tests/[ab].js", true],
    ["tests/a?.js", true],
    ["tests/onboarding.spec.js", false],
    ["tests/my-test_1.spec.js", false],
  ])("%j: %s", (arg, glob) => {
    expect(isGlob(arg)).toBe(glob);
  });
});

describe("normalizeTestPath", () => {
  it.each([
    ["tests/a.spec.js", "tests/a.spec.js"],
    ["./tests/a.spec.js", "tests/a.spec.js"],
    ["tests//x/../a.spec.js", "tests/a.spec.js"],
    ["tests\\win\\a.spec.js", "tests/win/a.spec.js"],
    ["tests/", "tests"],
  ])("%j -> %j", (arg, out) => {
    expect(normalizeTestPath(arg, "/repo")).toBe(out);
  });

  it("makes an absolute path inside the current directory relative", () => {
    expect(normalizeTestPath("/repo/tests/a.spec.js", "/repo")).toBe("tests/a.spec.js");
  });

  it.each([
    ["/elsewhere/a.spec.js", /outside the current directory/],
    ["../a.spec.js", /'\.\.'/],
    ["tests/\u0007.js", /control characters/],
  ])("refuses %j as a usage error", (arg, message) => {
    expect(() => normalizeTestPath(arg, "/repo")).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }),
    );
  });
});

describe("expandTests", () => {
  it("expands globs here (sorted, files only, no node_modules or dot files) and keeps plain paths as given", async () => {
    expect(
      await expandTests(
        [
          "tests/login.spec.js",
          "tests/**/*.spec.js",
          "not/here/remote.spec.js",
          "./tests/login.spec.js",
        ],
        dir,
      ),
    ).toEqual([
      "tests/login.spec.js",
      "tests/checkout/cart.spec.js",
      "tests/onboarding.spec.js",
      "not/here/remote.spec.js",
    ]);
    expect(await expandTests(["**/*.spec.js"], dir)).not.toContain(
      "node_modules/lib/tests/x.spec.js",
    );
    expect(await expandTests(["tests/{login,onboarding}.spec.js"], dir)).toEqual([
      "tests/login.spec.js",
      "tests/onboarding.spec.js",
    ]);
  });

  it("treats a glob that matches nothing, or an empty argument, as a usage error", async () => {
    await expect(expandTests(["tests/*.spec.ts"], dir)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--test tests\/\*\.spec\.ts: no files match/),
    });
    await expect(expandTests([""], dir)).rejects.toMatchObject({ exitCode: 2 });
  });
});
