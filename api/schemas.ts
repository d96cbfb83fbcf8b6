/**
 * The wire contract: one zod schema per type that crosses HTTP. The server validates with these,
 * the OpenAPI document is generated from them, and the client, CLI and Action parse with them.
 * Request objects are strict: an unknown field is a client bug worth a 400, not silence.
 */
import { z } from "zod";

import { JOB_STATUSES, RESULT_STATUSES, RUN_STATUSES, TEST_OUTCOMES } from "./status.js";
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
  .refine((p) => !p.split(/[\\/]/).includes(".."), "must not contain '..' segments")
  // A runner template puts the path among its arguments, where "-x" would read as an option.
  .refine((p) => !p.startsWith("-"), "must not start with '-'");

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
export const ShortText = z.string().max(256);

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

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256");

/**
 * The test project the run's agents unpack and run (a blob of kind `bundle`, see api/bundle.ts).
 * Without one, agents run the tests in their own `--project-dir`.
 */
export const BundleRef = z.strictObject({
  sha256: Sha256Hex,
  /** The commit the bundle was packed from, when known. */
  source_sha: ShortText.optional(),
});
export type BundleRef = z.infer<typeof BundleRef>;

/** The app build the run's agents install (a blob of kind `build`), and its file name. */
export const BuildRef = z.strictObject({
  sha256: Sha256Hex,
  name: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\p{Cc}/\\]+$/u, "a file name, without '/' or control characters")
    .refine((n) => n !== "." && n !== "..", "a file name"),
});
export type BuildRef = z.infer<typeof BuildRef>;

export const SubmitRunRequest = z.strictObject({
  org_id: OrgId,
  app_version_id: AppVersionId,
  tests: z.array(TestPath).min(1).max(MAX_TESTS),
  ...JobOptions,
  ...Provenance,
  bundle: BundleRef.optional(),
  build: BuildRef.optional(),
  /** Cancel the rest of the run once this many of its tests have failed (quarantined ones aside). */
  fail_fast: z.number().int().min(1).max(MAX_TESTS).optional(),
  /**
   * Cancel the unfinished jobs of the org's earlier runs of the same `repo` and `ref` on this
   * target and device (both needed): a new push makes the older run's results moot.
   */
  supersede: z.boolean().optional(),
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

export const ARTIFACT_KINDS = ["log", "screenshot", "video", "trace", "logcat", "file"] as const;
export const ArtifactKind = z.enum(ARTIFACT_KINDS);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

/**
 * One piece of an attempt's evidence, as the agent reports it: uploaded to the blob store
 * (`sha256`, `size`), or `missing` with the reason it is not there (too big, over the count
 * cap, unreadable). `url` is what agents before the blob store sent (a path on the agent).
 */
export const Artifact = z.strictObject({
  name: ShortText,
  url: z.string().max(2048).optional(),
  content_type: ShortText.optional(),
  kind: ArtifactKind.optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256")
    .optional(),
  size: z.number().int().min(0).optional(),
  missing: z.string().max(500).optional(),
});
export type Artifact = z.infer<typeof Artifact>;

export const JobResult = z.object({
  message: z.string().nullable(),
  file: z.string().nullable(),
  line: z.number().int().nullable(),
  /** The last lines the test printed (optional: results recorded by older agents lack it). */
  log_tail: z.string().nullable().optional(),
  artifacts: z.array(Artifact),
  /** Attachments the result reported beyond the server's cap (50), not kept. */
  artifacts_dropped: z.number().int().optional(),
  /**
   * True in a run's job list: `message` is its first line, `log_tail` and `artifacts` are left
   * out; the job view (`GET /api/v1/jobs/{id}`) has the whole result.
   */
  truncated: z.boolean().optional(),
  /** Where `truncated`: how many artifacts the job view holds. */
  artifacts_count: z.number().int().optional(),
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
  /**
   * Set when the job's test was quarantined as its result was recorded: when that quarantine
   * ends. A failure so marked is shown as "quarantined: failed" and fails no run.
   */
  quarantined_until: Timestamp.nullable(),
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
  /** Failed or timed-out jobs whose test was quarantined (also counted in those): they fail no run. */
  quarantined: z.number().int(),
});
export type RunCounts = z.infer<typeof RunCounts>;

/** What a run's bundle is, as the server recorded it at submission. */
export const RunBundle = z.object({
  sha256: z.string(),
  size: z.number().int(),
  /** How many files it holds. */
  files: z.number().int(),
  source_sha: z.string().nullable(),
});
export type RunBundle = z.infer<typeof RunBundle>;

export const RunBuild = z.object({
  sha256: z.string(),
  size: z.number().int(),
  name: z.string(),
});
export type RunBuild = z.infer<typeof RunBuild>;

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
  /** null: no bundle, the agents run the tests of their own checkout (`--no-bundle`). */
  bundle: RunBundle.nullable(),
  /** null: agents find the build themselves (their `--build` template). */
  build: RunBuild.nullable(),
  /** The failures after which the rest of the run is cancelled; null: it runs to the end. */
  fail_fast: z.number().int().nullable(),
  /** The later run of the same repo and ref that cancelled this one's unfinished jobs. */
  superseded_by: z.string().nullable().optional(),
});
export type Run = z.infer<typeof Run>;

/**
 * A run's current jobs (a job that was re-run is left out: its re-run stands in for it), oldest
 * first. Reads of a run answer a page of them (`jobs_limit`, then `jobs_cursor` set to
 * `jobs_next_cursor` for the next), their results summarised (`result.truncated`).
 */
export const RunWithJobs = Run.extend({
  jobs: z.array(Job),
  /** Null or absent: this page holds the run's last jobs. */
  jobs_next_cursor: z.string().nullable().optional(),
  /** A submission with `supersede`: the earlier runs whose unfinished jobs it cancelled. */
  superseded_runs: z.array(z.string()).optional(),
});
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

// ---- test history and quarantine ----

/** How the Tests list is ordered: each highest first. `duration` is the p95 run time. */
export const TEST_SORTS = ["flake_rate", "failure_rate", "duration", "duration_change"] as const;
export const TestSort = z.enum(TEST_SORTS);
export type TestSort = z.infer<typeof TestSort>;
const Flag = z.enum(["true", "false"]).transform((v) => v === "true");

export const ListTestsQuery = z.strictObject({
  org_id: OrgId.optional(),
  repo: z.string().min(1).max(200).optional(),
  target: Target.optional(),
  /** Tests whose path contains this text. */
  path: z.string().min(1).max(1024).optional(),
  /** Only tests with a flaky run among their last runs. */
  flaky: Flag.optional(),
  /** Only tests quarantined now. */
  quarantined: Flag.optional(),
  sort: TestSort.default("flake_rate"),
  limit: Limit,
  cursor: Cursor.optional(),
});
export type ListTestsQuery = z.output<typeof ListTestsQuery>;

export const TestOutcome = z.enum(TEST_OUTCOMES);

export const Quarantine = z.object({
  org_id: z.string(),
  test_path: z.string(),
  reason: z.string(),
  owner: z.string().nullable(),
  /** Set by the automatic flake-rate rule, not by a person. */
  automatic: z.boolean(),
  created_at: Timestamp,
  expires_at: Timestamp,
});
export type Quarantine = z.infer<typeof Quarantine>;

export const TestSummary = z.object({
  id: z.string(),
  org_id: z.string(),
  repo: z.string().nullable(),
  test_path: z.string(),
  target: Target,
  runs: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  flaky: z.number().int(),
  errors: z.number().int(),
  /** Over the last outcomes (`recent`), infrastructure errors left out. */
  flake_rate: z.number(),
  failure_rate: z.number(),
  /** The last outcomes, oldest first. */
  recent: z.array(TestOutcome),
  p50_ms: z.number().int(),
  p95_ms: z.number().int(),
  /** The median of the newest run times minus the median of the ones before them. */
  duration_change_ms: z.number().int(),
  first_seen_at: Timestamp,
  last_run_at: Timestamp,
  last_passed_at: Timestamp.nullable(),
  last_failed_at: Timestamp.nullable(),
  /** The test file's quarantine in force now, if any. */
  quarantine: Quarantine.nullable(),
});
export type TestSummary = z.infer<typeof TestSummary>;

export const TestRun = z.object({
  job_id: z.string(),
  run_id: z.string(),
  outcome: TestOutcome,
  finished_at: Timestamp,
  duration_ms: z.number().int().nullable(),
  message: z.string().nullable(),
  /** When the quarantine in force as it finished ended (null: it was not quarantined). */
  quarantined_until: Timestamp.nullable(),
});
export type TestRun = z.infer<typeof TestRun>;

export const TestDetail = TestSummary.extend({
  /** Newest first. */
  recent_runs: z.array(TestRun),
  last_failures: z.array(TestRun),
});
export type TestDetail = z.infer<typeof TestDetail>;

/** The longest a quarantine may be set for: it is a pause, not a way to forget a test. */
export const MAX_QUARANTINE_S = 90 * 24 * 3600;
export const QuarantineRequest = z.strictObject({
  org_id: OrgId.optional(),
  test_path: TestPath,
  reason: z.string().trim().min(1).max(500),
  owner: z.string().trim().min(1).max(200).optional(),
  expires_in_s: z
    .number()
    .int()
    .min(60)
    .max(MAX_QUARANTINE_S)
    .default(14 * 24 * 3600),
});
export type QuarantineRequest = z.input<typeof QuarantineRequest>;
export type QuarantineInput = z.output<typeof QuarantineRequest>;

export const QuarantineQuery = z.strictObject({
  org_id: OrgId.optional(),
  test_path: TestPath,
});

export const WaitQuery = z.strictObject({
  timeout_s: z.coerce.number().int().min(0).max(60).default(30),
});

/** The most jobs one read of a run answers. */
export const RUN_PAGE_MAX = 1000;

export const RunJobsQuery = z.strictObject({
  jobs_limit: z.coerce.number().int().min(1).max(RUN_PAGE_MAX).default(RUN_PAGE_MAX),
  jobs_cursor: Cursor.optional(),
});
export type RunJobsQuery = z.input<typeof RunJobsQuery>;

export const RunWaitQuery = WaitQuery.extend(RunJobsQuery.shape);

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
  /** Set: drained for its infrastructure errors (unhealthy); it gets no work until undrained.
   * Absent from servers before the drain rule. */
  drained_at: Timestamp.nullable().optional(),
  /** Its latest infrastructure errors, oldest first: when drained, the ones that drained it. */
  recent_errors: z
    .array(z.object({ at: Timestamp, job_id: z.string(), message: z.string().nullable() }))
    .optional(),
});
export type Agent = z.infer<typeof Agent>;

/** What registering answers: the agent, and the key its lease calls must carry from now on. */
export const RegisteredAgent = Agent.extend({
  /** Send as `X-Qgjob-Agent-Key` on heartbeat, lease, start, result and release. A new
   * registration under the same name issues a new key and the old one stops working. */
  key: z.string(),
});
export type RegisteredAgent = z.infer<typeof RegisteredAgent>;
export const AGENT_KEY_HEADER = "x-qgjob-agent-key";

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
  /** The run's bundle and build (absent from servers before bundles; null: none). */
  bundle: RunBundle.nullable().optional(),
  build: RunBuild.nullable().optional(),
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

/** The longest `message` and `log_tail` a result may carry (servers may keep less). */
export const RESULT_TEXT_MAX = 64 * 1024;

export const ResultRequest = z.strictObject({
  attempt: z.number().int().min(1).max(100),
  status: ResultStatus,
  duration_ms: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600 * 1000),
  message: z.string().max(RESULT_TEXT_MAX).optional(),
  file: z.string().max(1024).optional(),
  line: z.number().int().min(0).max(10_000_000).optional(),
  log_tail: z.string().max(RESULT_TEXT_MAX).optional(),
  // No count limit (the body limit bounds it): the server keeps the first 50 and counts the rest
  // as dropped, so a test with many screenshots never has its result refused and run again.
  artifacts: z.array(Artifact).default([]),
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

// ---- tokens ----

export const Token = z.object({
  id: z.string(),
  name: z.string(),
  /** null: a fleet token, valid for every org. */
  org_id: z.string().nullable(),
  scopes: z.array(Scope),
  created_at: Timestamp,
  last_used_at: Timestamp.nullable(),
  /** null: never expires. */
  expires_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});
export type Token = z.infer<typeof Token>;

export const CreateTokenRequest = z.strictObject({
  name: z.string().min(1).max(128),
  scopes: z.array(Scope).min(1),
  /** Omitted: the caller's org. A fleet caller may name any org, or `fleet: true`. */
  org_id: OrgId.optional(),
  fleet: z.boolean().default(false),
  /** Omitted: the server's default (QGJOB_TOKEN_TTL_DAYS); 0: never expires. */
  expires_in_days: z.number().min(0).max(3650).optional(),
});
export type CreateTokenRequest = z.input<typeof CreateTokenRequest>;

export const CreatedToken = Token.extend({
  /** The secret: shown once, never stored. */
  token: z.string(),
});
export type CreatedToken = z.infer<typeof CreatedToken>;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * A HEAD answer has no body, so an error's code and message also travel in these headers
 * (the message URI-encoded): a client's first call may be a HEAD (is this blob held?).
 */
export const ERROR_HEADERS = { code: "x-qgjob-error-code", message: "x-qgjob-error-message" };
