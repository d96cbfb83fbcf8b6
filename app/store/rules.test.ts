import { describe, expect, it } from "vitest";
import type { ResultInput } from "../../api/schemas.js";
import {
  decideLostJob,
  decideResult,
  emptyCounts,
  needsRerun,
  noteAgentError,
  runStatus,
  type AttemptRow,
} from "./rules.js";
import type { JobRecord } from "./store.js";

const job = (over: Partial<JobRecord> = {}): JobRecord => ({
  id: "job_1",
  runId: "run_1",
  orgId: "acme",
  appVersionId: "v1",
  target: "emulator",
  device: null,
  repo: null,
  testPath: "tests/a.spec.js",
  tags: [],
  priority: 5,
  status: "running",
  flaky: false,
  attempts: 1,
  maxAttempts: 3,
  retries: 0,
  testFailures: 0,
  timeoutS: 900,
  leaseId: "lse_1",
  agentId: "agt_1",
  avoidAgentId: null,
  requeuedAt: null,
  queuedAt: 0,
  createdAt: 0,
  startedAt: 0,
  finishedAt: null,
  durationMs: null,
  result: null,
  rerunOf: null,
  supersededBy: null,
  quarantinedUntil: null,
  groupKey: "app_version:acme|v1|emulator",
  ...over,
});

const result = (over: Partial<ResultInput> = {}): ResultInput => ({
  attempt: 1,
  status: "passed",
  duration_ms: 1000,
  artifacts: [],
  ...over,
});

const row = (over: Partial<AttemptRow> = {}): AttemptRow => ({
  attempt: 1,
  status: "passed",
  durationMs: 1000,
  result: { message: null, file: null, line: null, artifacts: [] },
  ...over,
});

describe("decideResult", () => {
  it.each([
    [
      "a pass ends the job",
      job(),
      undefined,
      result(),
      { kind: "final", status: "passed", flaky: false },
    ],
    [
      "a pass after a test failure is flaky",
      job({ attempts: 2, testFailures: 1, retries: 1 }),
      undefined,
      result({ attempt: 2 }),
      { kind: "final", status: "passed", flaky: true },
    ],
    [
      "a test failure with retries left runs again in the lease",
      job({ retries: 2 }),
      undefined,
      result({ status: "failed" }),
      { kind: "retry" },
    ],
    [
      "a test failure with no retries left ends the job",
      job({ retries: 1, testFailures: 1, attempts: 2 }),
      undefined,
      result({ attempt: 2, status: "failed" }),
      { kind: "final", status: "failed", flaky: false },
    ],
    [
      "a timeout is a test failure too",
      job(),
      undefined,
      result({ status: "timed_out" }),
      { kind: "final", status: "timed_out", flaky: false },
    ],
    [
      "an infra error with attempts left is requeued",
      job(),
      undefined,
      result({ status: "error" }),
      { kind: "requeue" },
    ],
    [
      "an infra error on the last attempt ends as error",
      job({ attempts: 3 }),
      undefined,
      result({ attempt: 3, status: "error" }),
      { kind: "final", status: "error", flaky: false },
    ],
    [
      "test retries do not spend infra attempts",
      job({ attempts: 4, testFailures: 2, retries: 3 }),
      undefined,
      result({ attempt: 4, status: "error" }),
      { kind: "requeue" },
    ],
    [
      "the same result twice is a duplicate",
      job({ status: "passed" }),
      row(),
      result(),
      { kind: "duplicate" },
    ],
  ])("%s", (_name, j, recorded, r, expected) => {
    expect(decideResult(j, recorded, r)).toEqual(expected);
  });

  it.each([
    [
      "a different result for a reported attempt",
      job({ status: "passed" }),
      row(),
      result({ status: "failed" }),
    ],
    ["a result for an ended job", job({ status: "cancelled" }), undefined, result()],
    ["a result naming a past attempt", job({ attempts: 2 }), undefined, result({ attempt: 1 })],
  ])("refuses %s", (_name, j, recorded, r) => {
    expect(decideResult(j, recorded, r).kind).toBe("conflict");
  });
});

describe("decideLostJob", () => {
  it.each([
    [1, 0, "requeue"],
    [2, 0, "requeue"],
    [3, 0, "error"],
    [4, 2, "requeue"],
  ] as const)(
    "attempt %i with %i test failures of 3 max: %s",
    (attempts, testFailures, expected) => {
      expect(decideLostJob(job({ attempts, testFailures }))).toBe(expected);
    },
  );
});

describe("runStatus", () => {
  const counts = (over: Partial<ReturnType<typeof emptyCounts>>) => {
    const c = { ...emptyCounts(), ...over };
    c.total =
      c.queued + c.leased + c.running + c.passed + c.failed + c.error + c.cancelled + c.timed_out;
    return c;
  };
  it.each([
    ["all queued", counts({ queued: 3 }), "queued"],
    ["some leased", counts({ queued: 2, leased: 1 }), "running"],
    ["some done, some queued", counts({ queued: 1, passed: 1 }), "running"],
    ["all passed", counts({ passed: 3 }), "passed"],
    ["one failed", counts({ passed: 2, failed: 1 }), "failed"],
    ["one infra error", counts({ passed: 2, error: 1 }), "failed"],
    ["one timed out", counts({ passed: 2, timed_out: 1 }), "failed"],
    ["cancelled without failures", counts({ passed: 1, cancelled: 2 }), "cancelled"],
    ["a failure outweighs a cancel", counts({ failed: 1, cancelled: 2 }), "failed"],
  ])("%s -> %s", (_name, c, expected) => {
    expect(runStatus(c)).toBe(expected);
  });
});

describe("needsRerun", () => {
  it.each([
    ["failed", null, true],
    ["error", null, true],
    ["timed_out", null, true],
    ["cancelled", null, true],
    ["passed", null, false],
    ["queued", null, false],
    ["running", null, false],
    ["failed", "job_2", false],
  ] as const)("%s, superseded by %s -> %s", (status, supersededBy, expected) => {
    expect(needsRerun(job({ status, supersededBy }))).toBe(expected);
  });
});

describe("noteAgentError", () => {
  const rule = { errors: 3, windowMs: 1000 };
  const error = (at: number, message: string | null = `e${at}`) => ({
    at,
    jobId: `job_${at}`,
    message,
  });
  const after = (ats: number[], r: typeof rule | null = rule) =>
    ats.reduce((agent, at) => noteAgentError(agent, error(at), r), {
      drainedAt: null as number | null,
      recentErrors: [] as ReturnType<typeof error>[],
    });

  it("drains at the rule's count within the window, not when they are spread wider", () => {
    expect(after([0, 500, 900]).drainedAt).toBe(900);
    expect(after([0, 600, 1200, 1800]).drainedAt).toBeNull();
    expect(after([0, 600, 1200, 1800]).recentErrors.map((e) => e.at)).toEqual([1200, 1800]);
  });

  it("keeps a drained agent drained, with the errors that did it and any after", () => {
    const drained = after([0, 1, 2, 5000]);
    expect(drained.drainedAt).toBe(2);
    expect(drained.recentErrors.map((e) => e.at)).toEqual([0, 1, 2, 5000]);
  });

  it("never drains without a rule, and keeps the last five errors for the dashboard", () => {
    const none = after([1, 2, 3, 4, 5, 6, 7], null);
    expect(none.drainedAt).toBeNull();
    expect(none.recentErrors.map((e) => e.at)).toEqual([3, 4, 5, 6, 7]);
  });

  it("cuts a long message", () => {
    const long = noteAgentError(
      { drainedAt: null, recentErrors: [] },
      error(1, "x".repeat(5000)),
      null,
    );
    expect(long.recentErrors[0]!.message).toHaveLength(500);
  });
});
