/**
 * SQLite tables. Times are integer milliseconds since the epoch; lists are JSON text.
 * drizzle-kit generates ./migrations from this file (`npm run db:generate`).
 */
import type { JobStatus } from "../../../api/status.js";
import type { RunSource } from "../../../api/types.js";
import type { Target } from "../../../api/types.js";
import type { RunBuild, RunBundle } from "../../../api/schemas.js";
import type { AgentError, StoredResult, TestRunEntry } from "../store.js";
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export const orgs = sqliteTable("orgs", {
  id: text("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

export const tokens = sqliteTable("tokens", {
  id: text("id").primaryKey(),
  /** null: a fleet token, valid for every org (agents shared between orgs, operators). */
  orgId: text("org_id"),
  name: text("name").notNull(),
  hash: text("hash").notNull().unique(),
  scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
  createdAt: integer("created_at").notNull(),
  /** null: never expires. */
  expiresAt: integer("expires_at"),
  revokedAt: integer("revoked_at"),
  /** Written at most once a minute per token (auth.ts), so a busy agent costs no write per call. */
  lastUsedAt: integer("last_used_at"),
});

export const runs = sqliteTable(
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
    createdAt: integer("created_at").notNull(),
    /** The test bundle and app build the run carries (api/schemas.ts RunBundle, RunBuild). */
    bundle: text("bundle", { mode: "json" }).$type<RunBundle>(),
    build: text("build", { mode: "json" }).$type<RunBuild>(),
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

export const jobs = sqliteTable(
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
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull(),
    priority: integer("priority").notNull(),
    status: text("status").$type<JobStatus>().notNull(),
    flaky: integer("flaky", { mode: "boolean" }).notNull().default(false),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    retries: integer("retries").notNull(),
    testFailures: integer("test_failures").notNull().default(0),
    timeoutS: integer("timeout_s").notNull(),
    leaseId: text("lease_id"),
    agentId: text("agent_id"),
    /** After an infrastructure error, keep the job off this agent for a while. */
    avoidAgentId: text("avoid_agent_id"),
    requeuedAt: integer("requeued_at"),
    /** First submission: waiting (and starvation) is measured from here, across requeues. */
    queuedAt: integer("queued_at").notNull(),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    durationMs: integer("duration_ms"),
    result: text("result", { mode: "json" }).$type<StoredResult>(),
    /** A re-run is a new job: history stays as it was, and the run counts only the newest. */
    rerunOf: text("rerun_of"),
    supersededBy: text("superseded_by"),
    /**
     * The scheduling group, as `<strategy name>:<strategy key>` (groups.ts): written at insert,
     * so the queue summaries below are kept by group whatever the strategy reads.
     */
    groupKey: text("group_key").notNull().default(""),
    /** When the test's quarantine ended, if it was quarantined as this job finished (null: it
     * was not): the run's verdict is decided by this, so it never changes after the fact. */
    quarantinedUntil: integer("quarantined_until"),
  },
  (t) => [
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
    // A group's queued jobs by device and priority, oldest first: the claim reads the chosen
    // group's jobs through it, and the triggers of queue_partitions find a partition's oldest
    // job in one step. It also serves every lookup by status.
    index("jobs_group_queue").on(t.status, t.groupKey, t.device, t.priority, t.queuedAt),
  ],
);

/** One row per try of a job: the history behind flaky marks and idempotent result posts. */
export const jobAttempts = sqliteTable(
  "job_attempts",
  {
    jobId: text("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    leaseId: text("lease_id").notNull(),
    agentId: text("agent_id").notNull(),
    status: text("status").$type<JobStatus>().notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    durationMs: integer("duration_ms"),
    result: text("result", { mode: "json" }).$type<StoredResult>(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt] })],
);

export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    /** null: a fleet agent that serves every org. */
    orgId: text("org_id"),
    name: text("name").notNull(),
    target: text("target").$type<Target>().notNull(),
    device: text("device"),
    labels: text("labels", { mode: "json" }).$type<string[]>().notNull(),
    /** App versions on the device, most recent first. */
    installed: text("installed", { mode: "json" }).$type<string[]>().notNull(),
    /** SHA-256 of the agent key handed out at registration; a new registration replaces it. */
    keyHash: text("key_hash"),
    registeredAt: integer("registered_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    /** Set: drained by the drain rule (app/store/rules.ts, noteAgentError); takes no leases. */
    drainedAt: integer("drained_at"),
    /** The agent's latest infrastructure errors, oldest first, as the drain rule counts them. */
    recentErrors: text("recent_errors", { mode: "json" })
      .$type<AgentError[]>()
      .notNull()
      .default([]),
  },
  (t) => [index("agents_name").on(t.name)],
);

export const leases = sqliteTable(
  "leases",
  {
    id: text("id").primaryKey(),
    agentId: text("agent_id").notNull(),
    orgId: text("org_id").notNull(),
    appVersionId: text("app_version_id").notNull(),
    target: text("target").$type<Target>().notNull(),
    groupKey: text("group_key").notNull(),
    install: integer("install", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    endedAt: integer("ended_at"),
    endReason: text("end_reason"),
  },
  (t) => [index("leases_live").on(t.endedAt, t.expiresAt), index("leases_agent").on(t.agentId)],
);

/** EWMA of each test file's run time, the basis of batch sizing. */
export const testDurations = sqliteTable(
  "test_durations",
  {
    orgId: text("org_id").notNull(),
    testPath: text("test_path").notNull(),
    target: text("target").$type<Target>().notNull(),
    ewmaMs: real("ewma_ms").notNull(),
    samples: integer("samples").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.testPath, t.target] })],
);

/** Recent device time per org (decayed), the basis of fair share. */
export const orgUsage = sqliteTable("org_usage", {
  orgId: text("org_id").primaryKey(),
  usageMs: real("usage_ms").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * The queue summarised per group, kept current by triggers on `jobs` (the queue_groups
 * migration) so that a claim reads a few rows per org instead of every queued job or group.
 * A partition is a group's queued jobs of one device (`device_key`: "-" for any device, "=name")
 * and one priority: its oldest job is found through jobs_group_queue in one step.
 */
export const queuePartitions = sqliteTable(
  "queue_partitions",
  {
    groupKey: text("group_key").notNull(),
    deviceKey: text("device_key").notNull(),
    priority: integer("priority").notNull(),
    queued: integer("queued").notNull(),
    oldestQueuedAt: integer("oldest_queued_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupKey, t.deviceKey, t.priority] })],
);

/**
 * A group's head per device key, folded from its partitions: the highest priority and the
 * oldest job, what the scheduler ranks groups by. The claim reads it by the two indexes below,
 * per org (heads.ts says which rows and why they are enough).
 */
export const queueGroups = sqliteTable(
  "queue_groups",
  {
    groupKey: text("group_key").notNull(),
    deviceKey: text("device_key").notNull(),
    target: text("target").notNull(),
    orgId: text("org_id").notNull(),
    appVersionId: text("app_version_id").notNull(),
    priority: integer("priority").notNull(),
    oldestQueuedAt: integer("oldest_queued_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.groupKey, t.deviceKey] }),
    index("queue_groups_oldest").on(
      t.target,
      t.deviceKey,
      t.orgId,
      t.oldestQueuedAt,
      sql`${t.priority} desc`,
      t.groupKey,
    ),
    index("queue_groups_top").on(
      t.target,
      t.deviceKey,
      t.orgId,
      sql`${t.priority} desc`,
      t.oldestQueuedAt,
      t.groupKey,
    ),
    index("queue_groups_version").on(t.appVersionId, t.target, t.deviceKey),
  ],
);

/**
 * One row per GitHub check run (a run's target): what was last sent to GitHub and when the next
 * update may go, so the reporter coalesces updates and a restart neither loses nor repeats them.
 */
export const githubChecks = sqliteTable(
  "github_checks",
  {
    id: text("id").primaryKey(),
    installationId: integer("installation_id").notNull(),
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
    checkRunId: integer("check_run_id"),
    sentStatus: text("sent_status"),
    /** Digest of the last output sent: an unchanged run sends nothing. */
    sentDigest: text("sent_digest"),
    annotationsSent: integer("annotations_sent").notNull().default(0),
    finished: integer("finished", { mode: "boolean" }).notNull().default(false),
    nextUpdateAt: integer("next_update_at").notNull(),
    /** Consecutive failed calls to GitHub: the basis of the backoff. */
    failures: integer("failures").notNull().default(0),
    /** Why the reporter gave up on this check run (GitHub refused it for good); shown on the run page. */
    error: text("error"),
    /** Bumped by each re-run: the reporter writes only to the generation it read. */
    generation: integer("generation").notNull().default(0),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("github_checks_run_target").on(t.runId, t.target),
    index("github_checks_due").on(t.finished, t.nextUpdateAt),
    index("github_checks_check_run").on(t.installationId, t.checkRunId),
  ],
);

/** Webhook deliveries, recorded before they are answered and processed after: a redelivered one creates nothing new. */
export const githubDeliveries = sqliteTable(
  "github_deliveries",
  {
    id: text("id").primaryKey(),
    event: text("event").notNull(),
    receivedAt: integer("received_at").notNull(),
    /** The webhook's JSON until it is processed (then null): a restart resumes from it. */
    payload: text("payload"),
    attempts: integer("attempts").notNull().default(0),
    /** When processing may (again) be tried; null once processed. */
    nextAttemptAt: integer("next_attempt_at"),
    processedAt: integer("processed_at"),
    /** Why processing was given up, when it was. */
    error: text("error"),
  },
  (t) => [
    index("github_deliveries_received").on(t.receivedAt),
    index("github_deliveries_due").on(t.processedAt, t.nextAttemptAt),
  ],
);

/**
 * Which org holds which blob (app/blobs keeps the bytes). One row per org and hash: content is
 * stored once, but an org sees only the hashes it uploaded or referenced.
 */
export const blobs = sqliteTable(
  "blobs",
  {
    orgId: text("org_id").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    kind: text("kind").notNull(),
    createdAt: integer("created_at").notNull(),
    lastReferencedAt: integer("last_referenced_at").notNull(),
    /** A bundle's file paths, read from the tarball when it arrived (null for other kinds). */
    files: text("files", { mode: "json" }).$type<string[]>(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.sha256] }),
    index("blobs_sha256").on(t.sha256),
    // Retention walks the least recently used first, a batch at a time.
    index("blobs_last_referenced").on(t.lastReferencedAt),
  ],
);

/**
 * What a device did for a lease (api/devices.ts), as its agent reported it: one row per lease,
 * replaced by a later report. `app_version_id` is the lease's, kept here for the run summaries.
 */
export const leaseDevices = sqliteTable("lease_devices", {
  leaseId: text("lease_id").primaryKey(),
  agentId: text("agent_id").notNull(),
  appVersionId: text("app_version_id").notNull(),
  installs: integer("installs").notNull(),
  sessions: integer("sessions").notNull(),
  installMs: integer("install_ms").notNull(),
  sessionMs: integer("session_ms").notNull(),
  reportedAt: integer("reported_at").notNull(),
});

/**
 * Per-test history, one row per (org, repository, test file, target), updated in the
 * transaction of each job's final result (app/store/history.ts folds it), so the Tests pages
 * read one row per test instead of every job. `repo` is "" when the runs named none.
 */
export const testHistory = sqliteTable(
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
    /** The last outcomes, oldest first, one letter each (history.ts: OUTCOME_CODES). */
    recent: text("recent").notNull(),
    /** The last run times (ms), oldest first: the sample p50 and p95 are taken from. */
    durations: text("durations", { mode: "json" }).$type<number[]>().notNull(),
    flakeRate: real("flake_rate").notNull(),
    failureRate: real("failure_rate").notNull(),
    p50Ms: integer("p50_ms").notNull(),
    p95Ms: integer("p95_ms").notNull(),
    durationChangeMs: integer("duration_change_ms").notNull(),
    firstSeenAt: integer("first_seen_at").notNull(),
    lastRunAt: integer("last_run_at").notNull(),
    lastPassedAt: integer("last_passed_at"),
    lastFailedAt: integer("last_failed_at"),
    recentRuns: text("recent_runs", { mode: "json" }).$type<TestRunEntry[]>().notNull(),
    lastFailures: text("last_failures", { mode: "json" }).$type<TestRunEntry[]>().notNull(),
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
export const testQuarantines = sqliteTable(
  "test_quarantines",
  {
    orgId: text("org_id").notNull(),
    testPath: text("test_path").notNull(),
    reason: text("reason").notNull(),
    owner: text("owner"),
    /** Set by the automatic flake rule rather than by a person. */
    automatic: integer("automatic", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.testPath] })],
);
