import { describe, expect, it } from "vitest";
import { failedJob as failed, finishedJob as job, runOf } from "../api/testing.js";
import { listTests, verdict, type Outcome } from "./verdict.js";

const opts = { failOnFlaky: false, timeoutMinutes: 30 };
const outcome = (run: Outcome["run"], over: Partial<Outcome> = {}): Outcome => ({
  run,
  timedOut: false,
  signal: null,
  elapsedMs: 1000,
  ...over,
});

describe("verdict", () => {
  it("passes a passed run", () => {
    const v = verdict(outcome(runOf([job({ test_path: "a" }), job({ test_path: "b" })])), opts);
    expect(v).toEqual({
      ok: true,
      status: "passed",
      headline: "passed",
      message: "run run_0000000001 passed: 0 queued · 0 running · 2 passed · 0 failed · 0 flaky",
    });
  });

  it("fails on failed, errored or timed-out tests, naming a few", () => {
    const run = runOf([
      failed("a.spec.ts", "x"),
      job({ test_path: "b.spec.ts" }),
      ...["c", "d", "e"].map((n) => failed(`${n}.spec.ts`, "x")),
    ]);
    expect(verdict(outcome(run), opts)).toMatchObject({
      ok: false,
      status: "failed",
      headline: "4 failed",
      message:
        "4 tests of 5 failed in run run_0000000001: a.spec.ts, c.spec.ts, d.spec.ts and 1 more",
    });
    const crashed = runOf([job({ test_path: "a", status: "error" })]);
    expect(verdict(outcome(crashed), opts).message).toBe(
      "1 test of 1 failed or could not run in run run_0000000001: a",
    );
  });

  it("passes a flaky pass unless fail-on-flaky", () => {
    const run = runOf([job({ test_path: "a", flaky: true, attempts: 2 }), job({ test_path: "b" })]);
    expect(verdict(outcome(run), opts)).toMatchObject({ ok: true, headline: "passed (1 flaky)" });
    expect(verdict(outcome(run), { ...opts, failOnFlaky: true })).toMatchObject({
      ok: false,
      status: "passed",
      message: "run run_0000000001 passed, but 1 test was flaky and fail-on-flaky is set: a",
    });
  });

  it("fails a timed-out wait, a signal, and a run cancelled elsewhere", () => {
    const running = runOf([job({ test_path: "a", status: "running" })]);
    expect(verdict(outcome(running, { timedOut: true }), opts)).toMatchObject({
      ok: false,
      status: "timed_out",
      message: expect.stringMatching(
        /^run run_0000000001 did not finish within timeout-minutes \(30\); cancelled it on the server \(0 queued · 1 running/,
      ),
    });
    const cancelled = runOf([job({ test_path: "a", status: "cancelled" })]);
    expect(verdict(outcome(cancelled, { signal: "SIGINT" }), opts).message).toMatch(
      /^run run_0000000001 cancelled: the step was stopped \(SIGINT\), so the run was cancelled on the server/,
    );
    expect(verdict(outcome(cancelled), opts)).toMatchObject({
      ok: false,
      status: "cancelled",
      message: expect.stringMatching(/^run run_0000000001 was cancelled on the server/),
    });
  });

  it("lists at most a few tests", () => {
    expect(listTests(["a"])).toBe("a");
    expect(listTests(["a", "b", "c"])).toBe("a, b, c");
    expect(listTests(["a", "b", "c", "d", "e"])).toBe("a, b, c and 2 more");
  });
});
