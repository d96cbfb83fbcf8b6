import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryLog } from "./log.js";
import { finishedJob as job } from "../api/testing.js";
import { jobLocation, repoPath } from "../report/location.js";
import { collectTests, resolveTests, testRoot } from "./tests.js";

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-action-ws-"));
  mkdirSync(join(dir, "app/tests/deep"), { recursive: true });
  for (const f of ["b.spec.ts", "a.spec.ts", "deep/c.spec.ts", "notes.md"]) {
    writeFileSync(join(dir, "app/tests", f), "");
  }
  return dir;
}

describe("test root and paths", () => {
  it("is the working directory inside the workspace", () => {
    expect(testRoot("/ws", ".")).toEqual({ dir: "/ws", prefix: "" });
    expect(testRoot("/ws", "./examples/demo/")).toEqual({
      dir: "/ws/examples/demo",
      prefix: "examples/demo",
    });
    expect(testRoot("/ws", "/ws/e2e")).toEqual({ dir: "/ws/e2e", prefix: "e2e" });
    expect(() => testRoot("/ws", "../elsewhere")).toThrow(
      "working-directory: '../elsewhere' is outside the workspace (/ws)",
    );
    expect(() => testRoot("/ws", "/tmp")).toThrow(/outside the workspace/);
  });

  it("maps test-root paths back to repository paths", () => {
    const root = testRoot("/ws", "examples/demo");
    expect(repoPath(root, "tests/a.spec.ts")).toBe("examples/demo/tests/a.spec.ts");
    expect(repoPath(testRoot("/ws", "."), "tests/a.spec.ts")).toBe("tests/a.spec.ts");
    const located = (over: Parameters<typeof job>[0]) => jobLocation(job(over), root);
    expect(
      located({
        test_path: "tests/a.spec.ts",
        result: { message: "x", file: "tests/helpers.ts", line: 7, artifacts: [] },
      }),
    ).toEqual({ file: "examples/demo/tests/helpers.ts", line: 7 });
    // No file reported, or one on the agent's own disk: the test file, without a line.
    expect(located({ test_path: "tests/a.spec.ts" })).toEqual({
      file: "examples/demo/tests/a.spec.ts",
      line: null,
    });
    expect(
      located({
        test_path: "tests/a.spec.ts",
        result: { message: "x", file: "/home/agent/tests/a.spec.ts", line: 3, artifacts: [] },
      }),
    ).toEqual({ file: "examples/demo/tests/a.spec.ts", line: null });
  });
});

describe("resolving the tests input", () => {
  it("expands globs in the working directory, keeps plain paths, drops duplicates", async () => {
    const ws = workspace();
    const root = testRoot(ws, "app");
    const out = await resolveTests(
      ["tests/b.spec.ts", "tests/**/*.spec.ts", "tests/x.spec.ts"],
      root,
    );
    expect(out.tests).toEqual([
      "tests/b.spec.ts",
      "tests/a.spec.ts",
      "tests/deep/c.spec.ts",
      "tests/x.spec.ts",
    ]);
    expect(out.notFound).toEqual(["tests/x.spec.ts"]);
  });

  it("says which pattern matched nothing, naming the input (not the CLI flag)", async () => {
    const root = testRoot(workspace(), "app");
    await expect(resolveTests(["tests/*.js"], root)).rejects.toThrow(
      /^tests: tests\/\*\.js: no files match this pattern in .*app$/,
    );
    await expect(resolveTests(["../up.spec.ts"], root)).rejects.toThrow(
      /^tests: \.\.\/up\.spec\.ts: must not contain '\.\.' segments/,
    );
  });

  it("explains a working directory that is not there when globs need it", async () => {
    const root = testRoot(workspace(), "nope");
    await expect(resolveTests(["tests/*.spec.ts"], root)).rejects.toThrow(
      /working-directory: nope does not exist in the workspace.*actions\/checkout/,
    );
    // Plain paths need no checkout: they are sent as given.
    expect((await resolveTests(["tests/a.spec.ts"], root)).tests).toEqual(["tests/a.spec.ts"]);
  });

  it("logs what it found and warns about plain paths not in the checkout", async () => {
    const log = memoryLog();
    await collectTests(
      ["tests/*.spec.ts", "tests/gone.spec.ts"],
      testRoot(workspace(), "app"),
      log,
      false,
    );
    expect(log.lines).toEqual([
      "warning: qgjob: not in the checkout (submitted as given; the agents must have them): tests/gone.spec.ts",
      "qgjob: 3 tests (in app): tests/a.spec.ts, tests/b.spec.ts, tests/gone.spec.ts",
    ]);
  });

  it("with a bundle, a plain path not in the checkout is an input error", async () => {
    const log = memoryLog();
    await expect(
      collectTests(
        ["tests/*.spec.ts", "tests/gone.spec.ts"],
        testRoot(workspace(), "app"),
        log,
        true,
      ),
    ).rejects.toThrow("tests: not in app (the test bundle the agents run): tests/gone.spec.ts");
    expect(log.lines).toEqual([]);
  });
});
