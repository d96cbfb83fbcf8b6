/**
 * Postgres tables: the same rows as the SQLite schema, in Postgres types. Times are bigint
 * milliseconds since the epoch (read as numbers); lists and results are jsonb.
 * drizzle-kit generates ./migrations from this file (`npm run db:generate:postgres`).
 */
import type { JobStatus } from "../../../api/status.js";
import type { RunSource } from "../../../api/types.js";
import type { Target } from "../../../api/types.js";
import type { RunBuild, RunBundle } from "../../../api/schemas.js";
import type { AgentError, StoredResult, TestRunEntry } from "../store.js";
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";

const ms = (name: string) => bigint(name, { mode: "number" });

export const orgs = pgTable("orgs", {
  id: text("id").primaryKey(),
  createdAt: ms("created_at").notNull(),
});

export const tokens = pgTable("tokens", {
  id: text("id").primaryKey(),
  /** null: a fleet token, valid for every org. */
  orgId: text("org_id"),
  name: text("name").notNull(),
  hash: text("hash").notNull().unique(),
  scopes: jsonb("scopes").$type<string[]>().notNull(),
  createdAt: ms("created_at").notNull(),
  expiresAt: ms("expires_at"),
  revokedAt: ms("revoked_at"),
  lastUsedAt: ms("last_used_at"),
});

export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    source: text("source").$type<RunSource>().notNull(),
    repo: text("repo"),
    sha: text("sha"),
    ref: text("ref"),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    createdAt: ms("created_at").notNull(),
    /** The test bundle and app build the run carries (api/schemas.ts RunBundle, RunBuild). */
    bundle: jsonb("bundle").$type<RunBundle>(),
    build: jsonb("build").$type<RunBuild>(),
    /** Failures after which the rest of the run is cancelled (null: it runs to the end). */
    failFast: integer("fail_fast"),
    /** The later run of the same repository, ref and target that cancelled this one's jobs. */
    supersededBy: text("superseded_by"),
  },
  (t) => [
    uniqueIndex("runs_idempotency").on(t.orgId, t.idempotencyKey),
    index("runs_org").on(t.orgId, t.id),
    // The earlier runs of a branch, which a new run with `supersede` cancels.
    index("runs_branch").on(t.orgId, t.repo, t.ref, t.id),
  ],
);

export const jobs = pgTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    runId: text("run_id").notNull(),
    orgId: text("org_id").notNull(),
    appVersionId: text("app_version_id").notNull(),
    target: text("target").$type<Target>().notNull(),
    device: text("device"),
    repo: text("repo"),
    testPath: text("test_path").notNull(),
    tags: jsonb("tags").$type<string[]>().notNull(),
    priority: integer("priority").notNull(),
    status: text("status").$type<JobStatus>().notNull(),
    flaky: boolean("flaky").notNull().default(false),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    retries: integer("retries").notNull(),
    testFailures: integer("test_failures").notNull().default(0),
    timeoutS: integer("timeout_s").notNull(),
    leaseId: text("lease_id"),
    agentId: text("agent_id"),
    avoidAgentId: text("avoid_agent_id"),
    requeuedAt: ms("requeued_at"),
    queuedAt: ms("queued_at").notNull(),
    createdAt: ms("created_at").notNull(),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
    durationMs: integer("duration_ms"),
    result: jsonb("result").$type<StoredResult>(),
    rerunOf: text("rerun_of"),
    supersededBy: text("superseded_by"),
    /** The scheduling group, `<strategy>:<key>` (heads.ts), as on SQLite. */
    groupKey: text("group_key").notNull().default(""),
    /** When the test's quarantine ended, if it was quarantined as this job finished (null: it
     * was not): the run's verdict is decided by this, so it never changes after the fact. */
    quarantinedUntil: ms("quarantined_until"),
  },
  (t) => [
    // A group's queued jobs by device and priority, oldest first: the claim's batch read, the
    // queue summary triggers' next-oldest lookup, and every lookup by status.
    index("jobs_group_queue").on(t.status, t.groupKey, t.device, t.priority, t.queuedAt),
    index("jobs_run").on(t.runId),
    // A run's counts from the index alone: a result's bulk sits in the row (SQLite walks its
    // overflow pages to reach the columns after it), and waiters re-read the counts on each change.
    index("jobs_run_counts").on(
      t.runId,
      t.supersededBy,
      t.status,
      t.flaky,
      t.quarantinedUntil,
      t.finishedAt,
    ),
    index("jobs_lease").on(t.leaseId),
    index("jobs_org").on(t.orgId, t.id),
  ],
);

export const jobAttempts = pgTable(
  "job_attempts",
  {
    jobId: text("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    leaseId: text("lease_id").notNull(),
    agentId: text("agent_id").notNull(),
    status: text("status").$type<JobStatus>().notNull(),
    startedAt: ms("started_at"),
    finishedAt: ms("finished_at"),
    durationMs: integer("duration_ms"),
    result: jsonb("result").$type<StoredResult>(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt] }), index("job_attempts_lease").on(t.leaseId)],
);

export const agents = pgTable(
  "agents",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id"),
    name: text("name").notNull(),
    target: text("target").$type<Target>().notNull(),
    device: text("device"),
    labels: jsonb("labels").$type<string[]>().notNull(),
    installed: jsonb("installed").$type<string[]>().notNull(),
    keyHash: text("key_hash"),
    registeredAt: ms("registered_at").notNull(),
    lastSeenAt: ms("last_seen_at").notNull(),
    drainedAt: ms("drained_at"),
    recentErrors: jsonb("recent_errors").$type<AgentError[]>().notNull().default([]),
  },
  (t) => [index("agents_name").on(t.name)],
);

export const leases = pgTable(
  "leases",
  {
    id: text("id").primaryKey(),
    agentId: text("agent_id").notNull(),
    orgId: text("org_id").notNull(),
    appVersionId: text("app_version_id").notNull(),
    target: text("target").$type<Target>().notNull(),
    groupKey: text("group_key").notNull(),
    install: boolean("install").notNull(),
    createdAt: ms("created_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    endedAt: ms("ended_at"),
    endReason: text("end_reason"),
  },
  (t) => [
    index("leases_live").on(t.endedAt, t.expiresAt),
    index("leases_agent").on(t.agentId),
    // One live lease per agent, whatever two claims racing on two replicas each saw.
    uniqueIndex("leases_agent_live")
      .on(t.agentId)
      .where(sql`${t.endedAt} is null`),
  ],
);

export const testDurations = pgTable(
  "test_durations",
  {
    orgId: text("org_id").notNull(),
    testPath: text("test_path").notNull(),
    target: text("target").$type<Target>().notNull(),
    ewmaMs: doublePrecision("ewma_ms").notNull(),
    samples: integer("samples").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.testPath, t.target] })],
);

export const orgUsage = pgTable("org_usage", {
  orgId: text("org_id").primaryKey(),
  usageMs: doublePrecision("usage_ms").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

/**
 * The queue summarised per group, as on SQLite (see its schema.ts): partitions by device key
 * and priority, and one head per group and device key, kept by the triggers of the
 * queue_group_triggers migration.
 */
export const queuePartitions = pgTable(
  "queue_partitions",
  {
    groupKey: text("group_key").notNull(),
    deviceKey: text("device_key").notNull(),
    priority: integer("priority").notNull(),
    queued: integer("queued").notNull(),
    oldestQueuedAt: ms("oldest_queued_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupKey, t.deviceKey, t.priority] })],
);

export const queueGroups = pgTable(
  "queue_groups",
  {
    groupKey: text("group_key").notNull(),
    deviceKey: text("device_key").notNull(),
    target: text("target").notNull(),
    orgId: text("org_id").notNull(),
    appVersionId: text("app_version_id").notNull(),
    priority: integer("priority").notNull(),
    oldestQueuedAt: ms("oldest_queued_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.groupKey, t.deviceKey] }),
    index("queue_groups_oldest").on(
      t.target,
      t.deviceKey,
      t.orgId,
      t.oldestQueuedAt,
      t.priority.desc(),
      t.groupKey,
    ),
    index("queue_groups_top").on(
      t.target,
      t.deviceKey,
      t.orgId,
      t.priority.desc(),
      t.oldestQueuedAt,
      t.groupKey,
    ),
    index("queue_groups_version").on(t.appVersionId, t.target, t.deviceKey),
  ],
);

/** GitHub's ids (installations, check runs) are 64-bit integers. */
const githubId = (name: string) => bigint(name, { mode: "number" });

/** One check run per run and target, and what was last sent to GitHub for it. */
export const githubChecks = pgTable(
  "github_checks",
  {
    id: text("id").primaryKey(),
    installationId: githubId("installation_id").notNull(),
    owner: text("owner").notNull(),
    repo: text("repo").notNull(),
    sha: text("sha").notNull(),
    name: text("name").notNull(),
    target: text("target").$type<Target>().notNull(),
    runId: text("run_id").notNull(),
    orgId: text("org_id").notNull(),
    /** The folder the tests are relative to, in the repository ("" for its root). */
    testRoot: text("test_root").notNull(),
    /** null until GitHub has created the check run (and again after a re-run asks for a new one). */
    checkRunId: githubId("check_run_id"),
    sentStatus: text("sent_status"),
    /** Digest of the last output sent: an unchanged run sends nothing. */
    sentDigest: text("sent_digest"),
    annotationsSent: integer("annotations_sent").notNull().default(0),
    finished: boolean("finished").notNull().default(false),
    nextUpdateAt: ms("next_update_at").notNull(),
    /** Consecutive failed calls to GitHub: the basis of the backoff. */
    failures: integer("failures").notNull().default(0),
    /** Why the reporter gave up on this check run (GitHub refused it for good); shown on the run page. */
    error: text("error"),
    /** Bumped by each re-run: the reporter writes only to the generation it read. */
    generation: integer("generation").notNull().default(0),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("github_checks_run_target").on(t.runId, t.target),
    index("github_checks_due").on(t.finished, t.nextUpdateAt),
    index("github_checks_check_run").on(t.installationId, t.checkRunId),
  ],
);

/** Webhook deliveries, recorded before they are answered and processed after: a redelivered one creates nothing new. */
export const githubDeliveries = pgTable(
  "github_deliveries",
  {
    id: text("id").primaryKey(),
    event: text("event").notNull(),
    receivedAt: ms("received_at").notNull(),
    /** The webhook's JSON until it is processed (then null): a restart resumes from it. */
    payload: text("payload"),
    attempts: integer("attempts").notNull().default(0),
    /** When processing may (again) be tried; null once processed. */
    nextAttemptAt: ms("next_attempt_at"),
    processedAt: ms("processed_at"),
    /** Why processing was given up, when it was. */
    error: text("error"),
  },
  (t) => [
    index("github_deliveries_received").on(t.receivedAt),
    index("github_deliveries_due").on(t.processedAt, t.nextAttemptAt),
  ],
);

/** Which org holds which blob (see the SQLite schema). */
export const blobs = pgTable(
  "blobs",
  {
    orgId: text("org_id").notNull(),
    sha256: text("sha256").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    kind: text("kind").notNull(),
    createdAt: ms("created_at").notNull(),
    lastReferencedAt: ms("last_referenced_at").notNull(),
    /** A bundle's file paths, read from the tarball when it arrived (null for other kinds). */
    files: jsonb("files").$type<string[]>(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.sha256] }),
    index("blobs_sha256").on(t.sha256),
    // Retention walks the least recently used first, a batch at a time.
    index("blobs_last_referenced").on(t.lastReferencedAt),
  ],
);

/** What a device did for a lease, as its agent reported it (the SQLite schema says more). */
export const leaseDevices = pgTable("lease_devices", {
  leaseId: text("lease_id").primaryKey(),
  agentId: text("agent_id").notNull(),
  appVersionId: text("app_version_id").notNull(),
  installs: integer("installs").notNull(),
  sessions: integer("sessions").notNull(),
  installMs: bigint("install_ms", { mode: "number" }).notNull(),
  sessionMs: bigint("session_ms", { mode: "number" }).notNull(),
  reportedAt: ms("reported_at").notNull(),
});

/** Per-test history (the SQLite schema says more): one row per (org, repo, test file, target). */
export const testHistory = pgTable(
  "test_history",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    repo: text("repo").notNull(),
    testPath: text("test_path").notNull(),
    target: text("target").$type<Target>().notNull(),
    runs: integer("runs").notNull(),
    passed: integer("passed").notNull(),
    failed: integer("failed").notNull(),
    flaky: integer("flaky").notNull(),
    errors: integer("errors").notNull(),
    recent: text("recent").notNull(),
    durations: jsonb("durations").$type<number[]>().notNull(),
    flakeRate: doublePrecision("flake_rate").notNull(),
    failureRate: doublePrecision("failure_rate").notNull(),
    p50Ms: ms("p50_ms").notNull(),
    p95Ms: ms("p95_ms").notNull(),
    durationChangeMs: ms("duration_change_ms").notNull(),
    firstSeenAt: ms("first_seen_at").notNull(),
    lastRunAt: ms("last_run_at").notNull(),
    lastPassedAt: ms("last_passed_at"),
    lastFailedAt: ms("last_failed_at"),
    recentRuns: jsonb("recent_runs").$type<TestRunEntry[]>().notNull(),
    lastFailures: jsonb("last_failures").$type<TestRunEntry[]>().notNull(),
  },
  (t) => [
    uniqueIndex("test_history_test").on(t.orgId, t.repo, t.testPath, t.target),
    index("test_history_flake").on(t.orgId, t.flakeRate, t.id),
    index("test_history_failure").on(t.orgId, t.failureRate, t.id),
    index("test_history_p95").on(t.orgId, t.p95Ms, t.id),
    index("test_history_change").on(t.orgId, t.durationChangeMs, t.id),
  ],
);

/** Quarantined test files of an org (every target and repository): they run, but fail no verdict. */
export const testQuarantines = pgTable(
  "test_quarantines",
  {
    orgId: text("org_id").notNull(),
    testPath: text("test_path").notNull(),
    reason: text("reason").notNull(),
    owner: text("owner"),
    automatic: boolean("automatic").notNull(),
    createdAt: ms("created_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.testPath] })],
);
