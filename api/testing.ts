/**
 * Wire fixtures for unit tests (CLI, Action, dashboard, reports): a full `Job` and `RunWithJobs`
 * as the server answers them, with sensible defaults.
 */
import type { Job, RunWithJobs } from "./schemas.js";
import { failsRun, isOpen, isQuarantined } from "./status.js";

let n = 0;

export function fakeJob(over: Partial<Job> = {}): Job {
  n++;
  return {
    id: `job_01JD8ZK3V4QH6T2X0M9B5C${String(n).padStart(4, "0")}`,
    run_id: "run_01JD8ZK3V4QH6T2X0M9B5C7R1E",
    org_id: "qualgent",
    app_version_id: "xyz123",
    target: "emulator",
    device: null,
    test_path: `tests/t${n}.spec.js`,
    tags: [],
    priority: 5,
    status: "queued",
    flaky: false,
    attempts: 0,
    max_attempts: 3,
    retries: 0,
    timeout_s: 900,
    agent_id: null,
    lease_id: null,
    created_at: "2025-01-01T00:00:00.000Z",
    started_at: null,
    finished_at: null,
    duration_ms: null,
    result: null,
    rerun_of: null,
    superseded_by: null,
    quarantined_until: null,
    ...over,
  };
}

export const failed = (test_path: string, message: string, line = 7, over: Partial<Job> = {}) =>
  fakeJob({
    test_path,
    status: "failed",
    attempts: 1,
    duration_ms: 1000,
    result: { message, file: test_path, line, artifacts: [] },
    ...over,
  });

export const passed = (test_path: string, over: Partial<Job> = {}) =>
  fakeJob({ test_path, status: "passed", attempts: 1, duration_ms: 4200, ...over });

export function fakeRun(jobs: Job[], over: Partial<RunWithJobs> = {}): RunWithJobs {
  return {
    id: "run_01JD8ZK3V4QH6T2X0M9B5C7R1E",
    org_id: "qualgent",
    source: "cli",
    status: "running",
    app_version_ids: ["xyz123"],
    repo: null,
    sha: null,
    ref: null,
    counts: {
      total: jobs.length,
      queued: 0,
      leased: 0,
      running: 0,
      passed: 0,
      failed: 0,
      error: 0,
      cancelled: 0,
      timed_out: 0,
      flaky: 0,
      quarantined: 0,
    },
    created_at: "2025-01-01T00:00:00.000Z",
    finished_at: null,
    bundle: null,
    build: null,
    fail_fast: null,
    jobs,
    ...over,
  };
}

let seq = 0;

/** A job as the server answers it, finished (passed) unless told otherwise. */
export function finishedJob(over: Partial<Job> & { test_path: string }): Job {
  seq++;
  const finished = !isOpen(over.status ?? "passed");
  return fakeJob({
    id: `job_${String(seq).padStart(10, "0")}`,
    run_id: "run_0000000001",
    org_id: "acme",
    app_version_id: "v1",
    status: "passed",
    attempts: 1,
    finished_at: finished ? "2025-01-01T00:00:05.000Z" : null,
    duration_ms: finished ? 1200 : null,
    result: finished
      ? { message: null, file: null, line: null, log_tail: null, artifacts: [] }
      : null,
    ...over,
  });
}

/** A finished job that failed, with a log tail, and a place only when given one. */
export function failedJob(test_path: string, message: string, file?: string, line?: number): Job {
  return finishedJob({
    test_path,
    status: "failed",
    result: {
      message,
      file: file ?? null,
      line: line ?? null,
      log_tail: `${message}\nmore output`,
      artifacts: [],
    },
  });
}

/** A run of these jobs as the Action sees it: counts and status derived from the jobs. */
export function runOf(jobs: Job[], over: Partial<RunWithJobs> = {}): RunWithJobs {
  const count = (status: Job["status"]) => jobs.filter((j) => j.status === status).length;
  const queued = count("queued");
  const running = count("leased") + count("running");
  const passed = count("passed");
  const failed = jobs.filter(failsRun).length;
  const cancelled = count("cancelled");
  const done = queued === 0 && running === 0;
  const status = !done
    ? running > 0 || passed + failed > 0
      ? "running"
      : "queued"
    : failed > 0
      ? "failed"
      : cancelled > 0
        ? "cancelled"
        : "passed";
  return fakeRun(jobs, {
    id: "run_0000000001",
    org_id: "acme",
    source: "action",
    status,
    app_version_ids: ["v1"],
    repo: "qualgent/demo",
    sha: "abc123",
    ref: "refs/heads/main",
    counts: {
      total: jobs.length,
      queued,
      leased: 0,
      running,
      passed,
      failed: count("failed"),
      error: count("error"),
      cancelled,
      timed_out: count("timed_out"),
      flaky: jobs.filter((j) => j.flaky).length,
      quarantined: jobs.filter(isQuarantined).length,
    },
    finished_at: done ? "2025-01-01T00:01:00.000Z" : null,
    ...over,
  });
}
