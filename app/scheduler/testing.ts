/** Builders for scheduler tables (tests and the benchmark simulator). */
import type { QueuedJob } from "./types.js";

let nextId = 0;

/** A queued job with plain defaults; each call gets a fresh id and test path. */
export function queuedJob(overrides: Partial<QueuedJob> = {}): QueuedJob {
  nextId += 1;
  return {
    id: `job-${nextId}`,
    orgId: "acme",
    appVersionId: "v1",
    target: "emulator",
    device: null,
    repo: null,
    tags: [],
    testPath: `tests/${nextId}.spec.ts`,
    priority: 0,
    queuedAt: 1_000,
    expectedMs: 60_000,
    ...overrides,
  };
}
