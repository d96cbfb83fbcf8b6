import { dashboardLinks } from "../report/links.js";
import { describe, expect, it } from "vitest";
import {
  exitCodeFor,
  formatJob,
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
      `run ${run.id}  failed  2 jobs · 0 queued · 0 running · 1 passed · 1 failed · 0 flaky  (created 2025-01-01 00:00:00Z)`,
    );
  });

  it("prints the run id, its dashboard page and each job id after a submission", () => {
    const run = fakeRun([fakeJob({ id: "job_1", test_path: "tests/onboarding.spec.js" })], {
      status: "queued",
    });
    const page = dashboardLinks("https://ci:secret@qgjob.example.com/", run.id).run;
    expect(formatSubmitted(run, page)).toBe(
      `run ${run.id}  1 job queued\npage https://qgjob.example.com/runs/${run.id}\n` +
        "job job_1  tests/onboarding.spec.js\n",
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

describe("formatJob", () => {
  it("prints the whole failure (the table has its first line) and the evidence it left", () => {
    const job = fakeJob({
      status: "failed",
      result: {
        message:
          "exit 1: at diff.sh:5\n\nAssertionError: values differ\n- expected: 2\n+ received: 1",
        file: null,
        line: null,
        artifacts: [
          { name: "output.log", sha256: "a".repeat(64), size: 10 },
          { name: "3 more files", missing: "over the cap of 40 files per attempt" },
        ],
      },
    });
    const text = formatJob(job);
    expect(text).toContain("exit 1: at diff.sh:5\n");
    expect(text).toContain(
      "\n\nexit 1: at diff.sh:5\n\nAssertionError: values differ\n- expected: 2\n+ received: 1\n",
    );
    expect(text).toContain(
      "Evidence: output.log, 3 more files (missing: over the cap of 40 files per attempt)",
    );
  });
});
