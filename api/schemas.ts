/**
 * The wire contract: one zod schema per type that crosses HTTP. The server validates with these,
 * the OpenAPI document is generated from them, and the client, CLI and Action parse with them.
 * Request objects are strict: an unknown field is a client bug worth a 400, not silence.
 */
import { z } from "zod";

import { JOB_STATUSES, RESULT_STATUSES, RUN_STATUSES } from "./status.js";
import { TARGETS } from "./targets.js";

export { TARGETS };
export const SCOPES = ["submit", "read", "agent", "admin"] as const;
export const RUN_SOURCES = ["api", "cli", "action", "github"] as const;

export const Target = z.enum(TARGETS);
export const Scope = z.enum(SCOPES);
export const JobStatus = z.enum(JOB_STATUSES);
export const RunStatus = z.enum(RUN_STATUSES);
export const RunSource = z.enum(RUN_SOURCES);
export const ResultStatus = z.enum(RESULT_STATUSES);

// Ids are used in group keys ("org|version|target") and in URLs: keep them to a safe alphabet.
export const OrgId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' or '-' (1-64)");
export const AppVersionId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:+@-]{0,127}$/, "letters, digits and . _ : + @ - (1-128)");
export const ResourceId = z.string().regex(/^[a-z]{2,5}_[0-9A-Za-z]{10,40}$/, "a qgjob id");
export const DeviceName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}|]+$/u, "no control characters or '|'");
export const Tag = z.string().regex(/^@?[A-Za-z0-9_.:-]{1,64}$/, "a tag such as @smoke");

/**
 * A test file relative to the project root. Agents pass it to the runner as an argument (never
 * through a shell), but it still must not climb out of the project or smuggle control characters.
 */
export const TestPath = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\p{Cc}]+$/u, "no control characters")
  .refine((p) => !p.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(p), "must be a relative path")
  .refine((p) => !p.split(/[\\/]/).includes(".."), "must not contain '..' segments");

/** The most tests one run may hold (the CLI, the Action and the App check it before sending). */
export const MAX_TESTS = 5000;

/** The `Idempotency-Key` header of a submission. */
export const IDEMPOTENCY_KEY_MAX = 255;
export const IdempotencyKey = z
  .string()
  .regex(
    new RegExp(`^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_MAX}}$`),
    `1-${IDEMPOTENCY_KEY_MAX} visible ASCII characters`,
  );
export const IdempotencyHeaders = z.object({ "idempotency-key": IdempotencyKey.optional() });

const Priority = z.number().int().min(0).max(10);
const Retries = z.number().int().min(0).max(5);
const MaxAttempts = z.number().int().min(1).max(10);
const TimeoutSeconds = z
  .number()
  .int()
  .min(1)
  .max(6 * 3600);
const ShortText = z.string().max(256);

/** Settings shared by every job of a submission. */
const JobOptions = {
  target: Target.default("emulator"),
  device: DeviceName.optional(),
  priority: Priority.default(5),
  retries: Retries.default(0),
  max_attempts: MaxAttempts.default(3),
  timeout_s: TimeoutSeconds.default(900),
  tags: z.array(Tag).max(20).default([]),
};

const Provenance = {
  source: RunSource.default("api"),
  repo: ShortText.optional(),
  sha: ShortText.optional(),
  ref: ShortText.optional(),
};

export const SubmitRunRequest = z.strictObject({
  org_id: OrgId,
  app_version_id: AppVersionId,
  tests: z.array(TestPath).min(1).max(MAX_TESTS),
  ...JobOptions,
  ...Provenance,
});
export type SubmitRunRequest = z.input<typeof SubmitRunRequest>;
export type SubmitRunInput = z.output<typeof SubmitRunRequest>;

export const SubmitJobRequest = z.strictObject({
  org_id: OrgId,
  app_version_id: AppVersionId,
  test_path: TestPath,
  ...JobOptions,
  ...Provenance,
});
export type SubmitJobRequest = z.input<typeof SubmitJobRequest>;
export type SubmitJobInput = z.output<typeof SubmitJobRequest>;

export const Artifact = z.strictObject({
  name: ShortText,
  url: z.string().max(2048),
  content_type: ShortText.optional(),
});
export type Artifact = z.infer<typeof Artifact>;

export const JobResult = z.object({
  message: z.string().nullable(),
  file: z.string().nullable(),
  line: z.number().int().nullable(),
  /** The last lines the test printed (optional: results recorded by older agents lack it). */
  log_tail: z.string().nullable().optional(),
  artifacts: z.array(Artifact),
});
export type JobResult = z.infer<typeof JobResult>;

const Timestamp = z.string().describe("ISO 8601");

export const Job = z.object({
  id: z.string(),
  run_id: z.string(),
  org_id: z.string(),
  app_version_id: z.string(),
  target: Target,
  device: z.string().nullable(),
  test_path: z.string(),
  tags: z.array(z.string()),
  priority: z.number().int(),
  status: JobStatus,
  flaky: z.boolean(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  retries: z.number().int(),
  timeout_s: z.number().int(),
  agent_id: z.string().nullable(),
  lease_id: z.string().nullable(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  duration_ms: z.number().int().nullable(),
  result: JobResult.nullable(),
  /** The job this one re-runs, and the job that re-ran this one (then it is history). */
  rerun_of: z.string().nullable(),
  superseded_by: z.string().nullable(),
});
export type Job = z.infer<typeof Job>;

export const RunCounts = z.object({
  total: z.number().int(),
  queued: z.number().int(),
  leased: z.number().int(),
  running: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  error: z.number().int(),
  cancelled: z.number().int(),
  timed_out: z.number().int(),
  flaky: z.number().int(),
});
export type RunCounts = z.infer<typeof RunCounts>;

export const Run = z.object({
  id: z.string(),
  org_id: z.string(),
  source: RunSource,
  status: RunStatus,
  app_version_ids: z.array(z.string()),
  repo: z.string().nullable(),
  sha: z.string().nullable(),
  ref: z.string().nullable(),
  counts: RunCounts,
  created_at: Timestamp,
  finished_at: Timestamp.nullable(),
});
export type Run = z.infer<typeof Run>;

/** A run's current jobs: a job that was re-run is left out (its re-run stands in for it). */
export const RunWithJobs = Run.extend({ jobs: z.array(Job) });
export type RunWithJobs = z.infer<typeof RunWithJobs>;

export const RerunFailedRequest = z.strictObject({ target: Target.optional() });
export type RerunFailedRequest = z.input<typeof RerunFailedRequest>;
export const RerunFailedResponse = RunWithJobs.extend({
  /** The new jobs queued by this request; empty when nothing had failed. */
  rerun_job_ids: z.array(z.string()),
});
export type RerunFailedResponse = z.infer<typeof RerunFailedResponse>;

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() });

export const Cursor = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, "a next_cursor from a previous page");
const Limit = z.coerce.number().int().min(1).max(500).default(50);

export const ListJobsQuery = z.strictObject({
  org_id: OrgId.optional(),
  run_id: ResourceId.optional(),
  status: JobStatus.optional(),
  app_version_id: AppVersionId.optional(),
  target: Target.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});
export type ListJobsQuery = z.output<typeof ListJobsQuery>;

export const ListRunsQuery = z.strictObject({
  org_id: OrgId.optional(),
  status: RunStatus.optional(),
  /** Runs with at least one job for this app version. */
  app_version_id: AppVersionId.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});
export type ListRunsQuery = z.output<typeof ListRunsQuery>;

export const WaitQuery = z.strictObject({
  timeout_s: z.coerce.number().int().min(0).max(60).default(30),
});

export const IdParams = z.strictObject({ id: ResourceId });
export const LeaseJobParams = z.strictObject({ lease_id: ResourceId, job_id: ResourceId });
export const LeaseParams = z.strictObject({ lease_id: ResourceId });

// ---- agents and leases ----

export const RegisterAgentRequest = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "letters, digits and . _ : - (1-128)"),
  target: Target,
  device: DeviceName.optional(),
  labels: z.array(Tag).max(20).default([]),
  installed: z.array(AppVersionId).max(50).default([]),
});
export type RegisterAgentRequest = z.input<typeof RegisterAgentRequest>;

export const AGENT_STATES = ["idle", "busy", "lost"] as const;

export const Agent = z.object({
  id: z.string(),
  name: z.string(),
  org_id: z.string().nullable(),
  target: Target,
  device: z.string().nullable(),
  labels: z.array(z.string()),
  installed: z.array(z.string()),
  state: z.enum(AGENT_STATES),
  lease_id: z.string().nullable(),
  registered_at: Timestamp,
  last_seen_at: Timestamp,
});
export type Agent = z.infer<typeof Agent>;

export const HeartbeatRequest = z.strictObject({ lease_id: ResourceId.optional() });
export const HeartbeatResponse = z.object({
  lease_expires_at: Timestamp.nullable(),
  /** Jobs of the held lease that ended on the server (cancelled, timed out): stop running them. */
  cancel_job_ids: z.array(z.string()),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

export const LeaseRequest = z.strictObject({
  wait_s: z.number().int().min(0).max(60).default(0),
});

export const LeasedJob = z.object({
  id: z.string(),
  test_path: z.string(),
  attempt: z.number().int(),
  retries: z.number().int(),
  timeout_s: z.number().int(),
  tags: z.array(z.string()),
});
export type LeasedJob = z.infer<typeof LeasedJob>;

export const Lease = z.object({
  id: z.string(),
  agent_id: z.string(),
  org_id: z.string(),
  app_version_id: z.string(),
  target: Target,
  /** The device does not have this build yet: install it before the first test. */
  install: z.boolean(),
  expires_at: Timestamp,
  heartbeat_interval_s: z.number(),
  jobs: z.array(LeasedJob),
});
export type Lease = z.infer<typeof Lease>;

export const StartJobRequest = z.strictObject({ attempt: z.number().int().min(1).max(100) });

export const ResultRequest = z.strictObject({
  attempt: z.number().int().min(1).max(100),
  status: ResultStatus,
  duration_ms: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600 * 1000),
  message: z
    .string()
    .max(64 * 1024)
    .optional(),
  file: z.string().max(1024).optional(),
  line: z.number().int().min(0).max(10_000_000).optional(),
  log_tail: z
    .string()
    .max(64 * 1024)
    .optional(),
  artifacts: z.array(Artifact).max(50).default([]),
});
export type ResultRequest = z.input<typeof ResultRequest>;
export type ResultInput = z.output<typeof ResultRequest>;

export const ResultResponse = z.object({
  job: Job,
  /** Run the job again in this lease: a test failure with retries left (same device). */
  retry: z.boolean(),
});
export type ResultResponse = z.infer<typeof ResultResponse>;

export const ReleaseResponse = z.object({ requeued: z.number().int() });

// ---- overview ----

export const QueueGroup = z.object({
  key: z.string(),
  org_id: z.string(),
  app_version_id: z.string(),
  target: Target,
  queued: z.number().int(),
  priority: z.number().int(),
  oldest_queued_at: Timestamp,
  oldest_wait_s: z.number(),
  expected_work_s: z.number(),
  active_leases: z.number().int(),
});
export const QueueOverview = z.object({
  targets: z.array(
    z.object({
      target: Target,
      queued: z.number().int(),
      leased: z.number().int(),
      running: z.number().int(),
      agents_idle: z.number().int(),
      agents_busy: z.number().int(),
    }),
  ),
  groups: z.array(QueueGroup),
});
export type QueueOverview = z.infer<typeof QueueOverview>;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
