import { describe, expect, it } from "vitest";
import { ProgressRenderer } from "./progress.js";
import { failed, fakeJob, passed } from "../api/testing.js";

const CLEAR = "\r\x1b[2K";

describe("ProgressRenderer, not a terminal (CI logs)", () => {
  it("prints the counts only when they change, and a line per job as it ends", () => {
    const r = new ProgressRenderer({ tty: false });
    const a = fakeJob({ id: "job_a", test_path: "tests/a.spec.js" });
    const b = fakeJob({ id: "job_b", test_path: "tests/b.spec.js" });

    expect(r.update([a, b], 0)).toBe(
      "[00:00] 2 queued · 0 running · 0 passed · 0 failed · 0 flaky\n",
    );
    expect(r.update([a, b], 3000)).toBe(""); // nothing changed
    expect(r.tick(4000)).toBe(""); // no clock redraws in logs

    const aRunning = { ...a, status: "running" as const };
    expect(r.update([aRunning, b], 6000)).toBe(
      "[00:06] 1 queued · 1 running · 0 passed · 0 failed · 0 flaky\n",
    );

    const aPassed = passed("tests/a.spec.js", { id: "job_a" });
    const bFailed = failed("tests/b.spec.js", "expected 1 to be 2", 7, { id: "job_b" });
    expect(r.update([aPassed, bFailed], 12_000)).toBe(
      "✓ tests/a.spec.js 4.2s\n" +
        "✗ tests/b.spec.js 1.0s  expected 1 to be 2 (tests/b.spec.js:7)\n" +
        "[00:12] 0 queued · 0 running · 1 passed · 1 failed · 0 flaky\n",
    );
    // A job is reported once.
    expect(r.update([aPassed, bFailed], 15_000)).toBe("");
    expect(r.finish()).toBe("");
  });

  it("reports jobs that had already ended at the first look", () => {
    const r = new ProgressRenderer({ tty: false });
    expect(r.update([passed("tests/a.spec.js")], 0)).toBe(
      "✓ tests/a.spec.js 4.2s\n[00:00] 0 queued · 0 running · 1 passed · 0 failed · 0 flaky\n",
    );
  });
});

describe("ProgressRenderer, on a terminal", () => {
  it("redraws one status line in place, prints ended jobs above it, and clears it at the end", () => {
    const r = new ProgressRenderer({ tty: true });
    const a = fakeJob({ id: "job_a", test_path: "tests/a.spec.js" });
    expect(r.tick(500)).toBe(""); // nothing to redraw yet

    const first = r.update([a], 0);
    expect(first).toBe("[00:00] 1 queued · 0 running · 0 passed · 0 failed · 0 flaky");
    expect(first).not.toContain("\n");

    expect(r.tick(1000)).toBe(
      CLEAR + "[00:01] 1 queued · 0 running · 0 passed · 0 failed · 0 flaky",
    );
    // Unchanged counts still redraw (the clock moves), but never add a line.
    expect(r.update([a], 2000)).toBe(
      CLEAR + "[00:02] 1 queued · 0 running · 0 passed · 0 failed · 0 flaky",
    );

    const done = passed("tests/a.spec.js", { id: "job_a" });
    expect(r.update([done], 4000)).toBe(
      CLEAR +
        "✓ tests/a.spec.js 4.2s\n[00:04] 0 queued · 0 running · 1 passed · 0 failed · 0 flaky",
    );
    expect(r.finish()).toBe(CLEAR);
    expect(r.finish()).toBe(""); // already clean
  });
});
