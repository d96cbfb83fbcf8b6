import { describe, expect, it } from "vitest";
import {
  exitCodeFor,
  failureText,
  formatRun,
  formatSubmitted,
  formatSummary,
  formatTally,
  jobLine,
  jobTable,
  table,
  tally,
  tallyFromCounts,
} from "./output.js";
import { failed, fakeJob, fakeRun, passed } from "./testing.js";

describe("tally", () => {
  it("puts leased with running, and error and timed out with failed", () => {
    const t = tally([
      fakeJob({ status: "queued" }),
      fakeJob({ status: "leased" }),
      fakeJob({ status: "running" }),
      passed("a"),
      passed("b", { flaky: true }),
      fakeJob({ status: "failed" }),
      fakeJob({ status: "error" }),
      fakeJob({ status: "timed_out" }),
      fakeJob({ status: "cancelled" }),
    ]);
    expect(t).toEqual({
      total: 9,
      queued: 1,
      running: 2,
      passed: 2,
      failed: 3,
      flaky: 1,
      cancelled: 1,
    });
    expect(formatTally(t)).toBe(
      "1 queued · 2 running · 2 passed · 3 failed · 1 flaky · 1 cancelled",
    );
  });

  it("leaves cancelled out when there are none, and maps the server's counts the same way", () => {
    const t = tallyFromCounts({
      total: 6,
      queued: 3,
      leased: 1,
      running: 0,
      passed: 2,
      failed: 0,
      error: 0,
      cancelled: 0,
      timed_out: 0,
      flaky: 0,
    });
    expect(formatTally(t)).toBe("3 queued · 1 running · 2 passed · 0 failed · 0 flaky");
  });
});

describe("failureText and jobLine", () => {
  it("shows the first line of the message and where it happened", () => {
    const job = failed("tests/b.spec.js", "\nexpected 1 to be 2\n    at tests/b.spec.js:7:5");
    expect(failureText(job)).toBe("expected 1 to be 2 (tests/b.spec.js:7)");
    expect(jobLine(job)).toBe("✗ tests/b.spec.js 1.0s  expected 1 to be 2 (tests/b.spec.js:7)");
  });

  it("copes with a missing message, file or line, and truncates long messages", () => {
    const base = { file: null, line: null, artifacts: [] };
    expect(failureText(fakeJob({ status: "error", result: null }))).toBe("error");
    expect(failureText(fakeJob({ status: "failed", result: { ...base, message: "boom" } }))).toBe(
      "boom",
    );
    expect(
      failureText(
        fakeJob({ status: "failed", result: { ...base, message: null, file: "a.js", line: 3 } }),
      ),
    ).toBe("(a.js:3)");
    expect(
      failureText(fakeJob({ status: "failed", result: { ...base, message: "m", file: "a.js" } })),
    ).toBe("m (a.js)");
    const long = failureText(
      fakeJob({ status: "failed", result: { ...base, message: "x".repeat(500) } }),
    );
    expect(long).toHaveLength(200);
    expect(long.endsWith("…")).toBe(true);
  });

  it.each([
    [passed("tests/a.spec.js"), "✓ tests/a.spec.js 4.2s"],
    [
      passed("tests/a.spec.js", { flaky: true, attempts: 2 }),
      "✓ tests/a.spec.js 4.2s (flaky: passed on attempt 2)",
    ],
    [fakeJob({ test_path: "tests/c.spec.js", status: "cancelled" }), "- tests/c.spec.js cancelled"],
    [
      fakeJob({ test_path: "tests/d.spec.js", status: "timed_out", duration_ms: 900_000 }),
      "✗ tests/d.spec.js timed out 15m00s",
    ],
    [
      fakeJob({
        test_path: "tests/e.spec.js",
        status: "error",
        result: { message: "adb offline", file: null, line: null, artifacts: [] },
      }),
      "✗ tests/e.spec.js error  adb offline",
    ],
  ])("%#: %s", (job, line) => {
    expect(jobLine(job)).toBe(line);
  });
});

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
