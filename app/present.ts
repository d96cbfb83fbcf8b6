/** Store records to wire objects (api/schemas.ts): snake_case and ISO timestamps. */
import type { Agent, Job, Lease, QueueOverview, Run } from "../api/schemas.js";
import type { Target } from "../api/types.js";
import { runStatus } from "./store/rules.js";
import type {
  AgentRecord,
  JobRecord,
  LeaseGrant,
  QueueGroupView,
  RunView,
  TargetView,
} from "./store/store.js";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function presentJob(j: JobRecord): Job {
  return {
    id: j.id,
    run_id: j.runId,
    org_id: j.orgId,
    app_version_id: j.appVersionId,
    target: j.target as Target,
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
  };
}

export function presentAgent(a: AgentRecord, now: number, ttlMs: number): Agent {
  return {
    id: a.id,
    name: a.name,
    org_id: a.orgId,
    target: a.target as Target,
    device: a.device,
    labels: a.labels,
    installed: a.installed,
    state: a.lastSeenAt <= now - ttlMs ? "lost" : a.leaseId ? "busy" : "idle",
    lease_id: a.leaseId,
    registered_at: iso(a.registeredAt),
    last_seen_at: iso(a.lastSeenAt),
  };
}

export function presentLease(grant: LeaseGrant, heartbeatIntervalS: number): Lease {
  const { lease, jobs } = grant;
  return {
    id: lease.id,
    agent_id: lease.agentId,
    org_id: lease.orgId,
    app_version_id: lease.appVersionId,
    target: lease.target as Target,
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
