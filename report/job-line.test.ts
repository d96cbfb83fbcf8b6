import { describe, expect, it } from "vitest";
import { failed, fakeJob, passed } from "../api/testing.js";
import { failureText, jobLine } from "./job-line.js";

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
