/** Fixtures for the CLI's unit tests: a full wire Job and RunWithJobs with sensible defaults. */
import type { Job, RunWithJobs } from "../api/schemas.js";

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
    },
    created_at: "2025-01-01T00:00:00.000Z",
    finished_at: null,
    jobs,
    ...over,
  };
}
