import { describe, expect, it } from "vitest";
import {
  exitCodeFor,
  formatRun,
  formatSubmitted,
  formatSummary,
  jobTable,
  table,
} from "./output.js";
import { failed, fakeJob, fakeRun, passed } from "../api/testing.js";

describe("exitCodeFor", () => {
  it.each([
    ["passed", 0],
    ["queued", 0],
    ["running", 0],
    ["leased", 0],
    ["failed", 1],
    ["error", 1],
    ["timed_out", 1],
    ["cancelled", 1],
  ])("%s -> %i", (status, code) => {
    expect(exitCodeFor(status)).toBe(code);
  });
});

describe("tables", () => {
  it("pads every column but the last and trims trailing space", () => {
    expect(
      table(
        ["A", "BB", "C"],
        [
          ["xxx", "", ""],
          ["y", "z", "w"],
        ],
      ),
    ).toBe("A    BB  C\nxxx\ny    z   w");
  });

  it("lists each job with status, attempts, duration, flaky and the failure", () => {
    const text = jobTable([
      passed("tests/a.spec.js", { id: "job_A", flaky: true, attempts: 2 }),
      failed("tests/b.spec.js", "expected 1 to be 2", 7, { id: "job_B" }),
      fakeJob({ id: "job_C", test_path: "tests/c.spec.js" }),
    ]);
    expect(text.split("\n")).toEqual([
      "JOB    TEST             STATUS  ATTEMPTS  DURATION  FLAKY  FAILURE",
      "job_A  tests/a.spec.js  passed  2         4.2s      yes",
      "job_B  tests/b.spec.js  failed  1         1.0s             expected 1 to be 2 (tests/b.spec.js:7)",
      "job_C  tests/c.spec.js  queued  0",
    ]);
  });

  it("heads a run with its status and counts", () => {
    const run = fakeRun([passed("a.js"), failed("b.js", "nope")], { status: "failed" });
    expect(formatRun(run).split("\n")[0]).toBe(
      `run ${run.id}  failed  2 jobs · 0 queued · 0 running · 1 passed · 1 failed · 0 flaky  (created 2025-01-01T00:00:00.000Z)`,
    );
  });

  it("prints the run id and each job id after a submission", () => {
    const run = fakeRun([fakeJob({ id: "job_1", test_path: "tests/onboarding.spec.js" })], {
      status: "queued",
    });
    expect(formatSubmitted(run)).toBe(
      `run ${run.id}  1 job queued\njob job_1  tests/onboarding.spec.js\n`,
    );
  });
});

describe("formatSummary", () => {
  it("ends with the counts, every failure with file:line, and flaky passes", () => {
    const text = formatSummary("run run_X failed (waited 00:12)", [
      passed("tests/a.spec.js"),
      passed("tests/f.spec.js", { flaky: true, attempts: 2 }),
      failed("tests/b.spec.js", "expected 1 to be 2"),
    ]);
    expect(text).toBe(
      [
        "run run_X failed (waited 00:12): 0 queued · 0 running · 2 passed · 1 failed · 1 flaky",
        "Failures (1):",
        "  ✗ tests/b.spec.js 1.0s  expected 1 to be 2 (tests/b.spec.js:7)",
        "Flaky (1):",
        "  ✓ tests/f.spec.js 4.2s (flaky: passed on attempt 2)",
        "",
      ].join("\n"),
    );
  });
});
