/** Test helpers for the Action's modules: jobs and runs as the server answers them, action.yml. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Job, RunWithJobs } from "../api/schemas.js";
import { tally } from "../cli/output.js";
import { fakeJob, fakeRun } from "../cli/testing.js";

let seq = 0;

/** A job as the server answers it, finished (passed) unless told otherwise. */
export function job(over: Partial<Job> & { test_path: string }): Job {
  seq++;
  const finished = !["queued", "leased", "running"].includes(over.status ?? "passed");
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

export function failed(test_path: string, message: string, file?: string, line?: number): Job {
  return job({
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

export function runOf(jobs: Job[], over: Partial<RunWithJobs> = {}): RunWithJobs {
  const t = tally(jobs);
  const done = t.queued === 0 && t.running === 0;
  const status = !done
    ? t.running > 0 || t.passed + t.failed > 0
      ? "running"
      : "queued"
    : t.failed > 0
      ? "failed"
      : t.cancelled > 0
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
      queued: t.queued,
      leased: 0,
      running: t.running,
      passed: t.passed,
      failed: jobs.filter((j) => j.status === "failed").length,
      error: jobs.filter((j) => j.status === "error").length,
      cancelled: t.cancelled,
      timed_out: jobs.filter((j) => j.status === "timed_out").length,
      flaky: t.flaky,
    },
    finished_at: done ? "2025-01-01T00:01:00.000Z" : null,
    ...over,
  });
}

export interface ActionYml {
  inputs: Record<string, { required: boolean; default: string | undefined }>;
  outputs: string[];
  runs: Record<string, string>;
}

export const ACTION_YML = join(import.meta.dirname, "..", "action.yml");

/**
 * The parts of action.yml the tests compare with the code: a reader for this one file's shape
 * (two-space nesting, one-line scalars), not a YAML parser.
 */
export function readActionYml(path = ACTION_YML): ActionYml {
  const out: ActionYml = { inputs: {}, outputs: [], runs: {} };
  let section = "";
  let current = "";
  const scalar = (text: string) => text.trim().replace(/^(["'])(.*)\1$/, "$2");
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const top = /^([a-z-]+):\s*(.*)$/.exec(line);
    if (top) {
      section = top[1]!;
      continue;
    }
    const entry = /^ {2}([a-z-]+):\s*(.*)$/.exec(line);
    if (entry) {
      current = entry[1]!;
      if (section === "inputs") out.inputs[current] = { required: false, default: undefined };
      if (section === "outputs") out.outputs.push(current);
      if (section === "runs") out.runs[current] = scalar(entry[2]!);
      continue;
    }
    const prop = /^ {4}(required|default):\s*(.*)$/.exec(line);
    if (prop && section === "inputs") {
      const input = out.inputs[current]!;
      if (prop[1] === "required") input.required = scalar(prop[2]!) === "true";
      else input.default = scalar(prop[2]!);
    }
  }
  return out;
}
