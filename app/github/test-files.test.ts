import { describe, expect, it } from "vitest";
import { resolveTests } from "./test-files.js";

const FILES = [
  ".github/qgjob.yml",
  "app/tests/login.spec.ts",
  "app/tests/cart/checkout.spec.ts",
  "app/tests/helpers.ts",
  "app/node_modules/pkg/x.spec.ts",
  "other/tests/login.spec.ts",
];

describe("resolveTests", () => {
  it("expands globs over the commit's files under the root, keeping order, dropping duplicates", () => {
    expect(resolveTests(["tests/login.spec.ts", "tests/**/*.spec.ts"], FILES, "app")).toEqual({
      tests: ["tests/login.spec.ts", "tests/cart/checkout.spec.ts"],
      problems: [],
    });
  });

  it("resolves from the repository root when no root is set", () => {
    expect(resolveTests(["./other/tests/*.spec.ts"], FILES, "").tests).toEqual([
      "other/tests/login.spec.ts",
    ]);
  });

  it("names plain paths that are not there and globs that match nothing", () => {
    expect(resolveTests(["tests/gone.spec.ts", "e2e/**/*.ts", "../x.ts"], FILES, "app")).toEqual({
      tests: [],
      problems: [
        "tests: tests/gone.spec.ts is not a file in app",
        "tests: e2e/**/*.ts matches no file in app",
        "tests: ../x.ts: must not contain '..' segments",
      ],
    });
  });
});
