/**
 * A submission as both engines write it: the run and its jobs, queued and never tried, built
 * whole here so the answer is what was written (rules.ts `submittedRun`), never a read-back.
 */
import type { SubmitRunInput } from "../../api/schemas.js";
import { newId } from "../ids.js";
import type { GroupingStrategy } from "../scheduler/types.js";
import { groupKeyOf } from "./heads.js";
import type { JobRecord, RunRecord, SubmitOptions } from "./store.js";

export function submittedRunRecord(
  input: SubmitRunInput,
  opts: SubmitOptions,
  now: number,
): RunRecord {
  return {
    id: newId("run", now),
    orgId: input.org_id,
    source: input.source,
    repo: input.repo ?? null,
    sha: input.sha ?? null,
    ref: input.ref ?? null,
    createdAt: now,
    bundle: opts.bundle ?? null,
    build: opts.build ?? null,
    failFast: input.fail_fast ?? null,
    supersededBy: null,
  };
}

/** A job as submitted: queued, never tried. */
export function queuedJob(
  grouping: GroupingStrategy,
  input: SubmitRunInput,
  runId: string,
  testPath: string,
  now: number,
): JobRecord {
  const job = {
    id: newId("job", now),
    runId,
    orgId: input.org_id,
    appVersionId: input.app_version_id,
    target: input.target,
    device: input.device ?? null,
    repo: input.repo ?? null,
    testPath,
    tags: input.tags,
    priority: input.priority,
    status: "queued" as const,
    flaky: false,
    attempts: 0,
    maxAttempts: input.max_attempts,
    retries: input.retries,
    testFailures: 0,
    timeoutS: input.timeout_s,
    leaseId: null,
    agentId: null,
    avoidAgentId: null,
    requeuedAt: null,
    queuedAt: now,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    result: null,
    rerunOf: null,
    supersededBy: null,
    quarantinedUntil: null,
  };
  return { ...job, groupKey: groupKeyOf(grouping, job) };
}
