/** Store records to wire objects (api/schemas.ts): snake_case and ISO timestamps. */
import type { LeaseDevice } from "../api/devices.js";
import type {
  Agent,
  Job,
  Lease,
  Quarantine,
  QueueOverview,
  Run,
  RunWithJobs,
  TestDetail,
  TestRun,
  TestSummary,
  Token,
} from "../api/schemas.js";
import { outcomesOf } from "./store/history.js";
import type { Scope } from "../api/types.js";
import { summarizeJob } from "./store/job-summary.js";
import { runStatus } from "./store/rules.js";
import type {
  AgentRecord,
  JobRecord,
  LeaseDeviceRecord,
  LeaseGrant,
  QuarantineRecord,
  QueueGroupView,
  RunPage,
  RunInputs,
  RunView,
  TargetView,
  TestRunEntry,
  TestView,
  TokenRecord,
} from "./store/store.js";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function presentJob(j: JobRecord): Job {
  return {
    id: j.id,
    run_id: j.runId,
    org_id: j.orgId,
    app_version_id: j.appVersionId,
    target: j.target,
    device: j.device,
    test_path: j.testPath,
    tags: j.tags,
    priority: j.priority,
    status: j.status as Job["status"],
    flaky: j.flaky,
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    retries: j.retries,
    timeout_s: j.timeoutS,
    agent_id: j.agentId,
    lease_id: j.leaseId,
    created_at: iso(j.createdAt),
    started_at: isoOrNull(j.startedAt),
    finished_at: isoOrNull(j.finishedAt),
    duration_ms: j.durationMs,
    result: j.result,
    rerun_of: j.rerunOf,
    superseded_by: j.supersededBy,
    quarantined_until: isoOrNull(j.quarantinedUntil),
  };
}

export function presentRun(r: RunView): Run {
  return {
    id: r.id,
    org_id: r.orgId,
    source: r.source as Run["source"],
    status: runStatus(r.counts),
    app_version_ids: r.appVersionIds,
    repo: r.repo,
    sha: r.sha,
    ref: r.ref,
    counts: r.counts,
    created_at: iso(r.createdAt),
    finished_at: isoOrNull(r.finishedAt),
    bundle: r.bundle,
    build: r.build,
    fail_fast: r.failFast,
    superseded_by: r.supersededBy,
  };
}

/** A run with one page of its jobs (Store.getRunPage). */
export function presentRunPage(p: RunPage): RunWithJobs {
  return { ...presentRun(p), jobs: p.jobs.map(presentJob), jobs_next_cursor: p.nextCursor };
}

/** A run with all its jobs, summarised like a page's (a submission's or a re-run's answer). */
export function presentRunSummary(r: RunView & { jobs: JobRecord[] }): RunWithJobs {
  return { ...presentRun(r), jobs: r.jobs.map((j) => presentJob(summarizeJob(j))) };
}

export function presentAgent(a: AgentRecord, now: number, ttlMs: number): Agent {
  return {
    id: a.id,
    name: a.name,
    org_id: a.orgId,
    target: a.target,
    device: a.device,
    labels: a.labels,
    installed: a.installed,
    state: a.lastSeenAt <= now - ttlMs ? "lost" : a.leaseId ? "busy" : "idle",
    lease_id: a.leaseId,
    registered_at: iso(a.registeredAt),
    last_seen_at: iso(a.lastSeenAt),
    drained_at: a.drainedAt === null ? null : iso(a.drainedAt),
    recent_errors: a.recentErrors.map((e) => ({
      at: iso(e.at),
      job_id: e.jobId,
      message: e.message,
    })),
  };
}

export function presentLease(
  grant: LeaseGrant,
  heartbeatIntervalS: number,
  inputs: Map<string, RunInputs> = new Map(),
): Lease {
  const { lease, jobs } = grant;
  return {
    id: lease.id,
    agent_id: lease.agentId,
    org_id: lease.orgId,
    app_version_id: lease.appVersionId,
    target: lease.target,
    install: lease.install,
    expires_at: iso(lease.expiresAt),
    heartbeat_interval_s: heartbeatIntervalS,
    jobs: jobs.map((j) => ({
      id: j.id,
      test_path: j.testPath,
      attempt: j.attempts,
      retries: j.retries,
      timeout_s: j.timeoutS,
      tags: j.tags,
      bundle: inputs.get(j.runId)?.bundle ?? null,
      build: inputs.get(j.runId)?.build ?? null,
    })),
  };
}

export function presentQueue(
  overview: { targets: TargetView[]; groups: QueueGroupView[] },
  now: number,
): QueueOverview {
  return {
    targets: overview.targets.map((t) => ({
      target: t.target,
      queued: t.queued,
      leased: t.leased,
      running: t.running,
      agents_idle: t.agentsIdle,
      agents_busy: t.agentsBusy,
    })),
    groups: overview.groups.map((g) => ({
      key: g.key,
      org_id: g.orgId,
      app_version_id: g.appVersionId,
      target: g.target,
      queued: g.queued,
      priority: g.priority,
      oldest_queued_at: iso(g.oldestQueuedAt),
      oldest_wait_s: Math.max(0, (now - g.oldestQueuedAt) / 1000),
      expected_work_s: g.expectedWorkMs / 1000,
      active_leases: g.activeLeases,
    })),
  };
}

/** Never the hash, never the secret. */
export function presentToken(t: TokenRecord): Token {
  return {
    id: t.id,
    name: t.name,
    org_id: t.orgId,
    scopes: t.scopes as Scope[],
    created_at: iso(t.createdAt),
    last_used_at: isoOrNull(t.lastUsedAt),
    expires_at: isoOrNull(t.expiresAt),
    revoked_at: isoOrNull(t.revokedAt),
  };
}

export function presentLeaseDevice(d: LeaseDeviceRecord): LeaseDevice {
  return {
    lease_id: d.leaseId,
    agent_id: d.agentId,
    app_version_id: d.appVersionId,
    installs: d.installs,
    sessions: d.sessions,
    setup_ms: { install: d.installMs, session: d.sessionMs },
    reported_at: iso(d.reportedAt),
  };
}

export function presentQuarantine(q: QuarantineRecord): Quarantine {
  return {
    org_id: q.orgId,
    test_path: q.testPath,
    reason: q.reason,
    owner: q.owner,
    automatic: q.automatic,
    created_at: iso(q.createdAt),
    expires_at: iso(q.expiresAt),
  };
}

export function presentTest(t: TestView): TestSummary {
  return {
    id: t.id,
    org_id: t.orgId,
    repo: t.repo === "" ? null : t.repo,
    test_path: t.testPath,
    target: t.target,
    runs: t.runs,
    passed: t.passed,
    failed: t.failed,
    flaky: t.flaky,
    errors: t.errors,
    flake_rate: t.flakeRate,
    failure_rate: t.failureRate,
    recent: outcomesOf(t.recent),
    p50_ms: t.p50Ms,
    p95_ms: t.p95Ms,
    duration_change_ms: t.durationChangeMs,
    first_seen_at: iso(t.firstSeenAt),
    last_run_at: iso(t.lastRunAt),
    last_passed_at: isoOrNull(t.lastPassedAt),
    last_failed_at: isoOrNull(t.lastFailedAt),
    quarantine: t.quarantine ? presentQuarantine(t.quarantine) : null,
  };
}

function presentTestRun(r: TestRunEntry): TestRun {
  return {
    job_id: r.jobId,
    run_id: r.runId,
    outcome: r.outcome,
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    message: r.message,
    quarantined_until: isoOrNull(r.quarantinedUntil),
  };
}

export function presentTestDetail(t: TestView): TestDetail {
  return {
    ...presentTest(t),
    recent_runs: t.recentRuns.map(presentTestRun),
    last_failures: t.lastFailures.map(presentTestRun),
  };
}
