/**
 * The Store: everything qgjob remembers, behind one interface with two engines (SQLite, and
 * Postgres for several replicas). Engines own transactions and SQL; the rules of a job's life
 * live in rules.ts, the choice of work in app/scheduler, and the claim's candidate groups in
 * heads.ts (both engines read the same bounded heads from the same queue summaries), so both
 * engines decide the same by construction.
 * Every method that depends on time takes `now` (ms) from the caller.
 */
import type {
  Artifact,
  ListJobsQuery,
  ListRunsQuery,
  ListTestsQuery,
  ResultInput,
  RunBuild,
  RunBundle,
  SubmitRunInput,
} from "../../api/schemas.js";
import type { BlobKind } from "../../api/blobs.js";
import type { JobStatus, TestOutcome } from "../../api/status.js";
import type { QuarantineRule } from "./history.js";
import type { Decision, GroupingStrategy, SchedulerConfig, Target } from "../scheduler/types.js";

export type { JobStatus };

export interface StoredResult {
  message: string | null;
  file: string | null;
  line: number | null;
  log_tail?: string | null;
  artifacts: Artifact[];
  /** Attachments reported beyond MAX_ARTIFACTS, not kept (the result is, whole otherwise). */
  artifacts_dropped?: number;
  /** A run page's summary (job-summary.ts): the message's first line, no log tail or artifacts. */
  truncated?: boolean;
  /** In a summary: how many artifacts the whole result holds. */
  artifacts_count?: number;
}

export interface JobRecord {
  id: string;
  runId: string;
  orgId: string;
  appVersionId: string;
  target: Target;
  device: string | null;
  repo: string | null;
  testPath: string;
  tags: string[];
  priority: number;
  status: JobStatus;
  flaky: boolean;
  attempts: number;
  maxAttempts: number;
  retries: number;
  testFailures: number;
  timeoutS: number;
  leaseId: string | null;
  agentId: string | null;
  avoidAgentId: string | null;
  requeuedAt: number | null;
  queuedAt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  result: StoredResult | null;
  /** The job this one re-runs, and the job that re-ran this one. */
  rerunOf: string | null;
  supersededBy: string | null;
  /** The scheduling group, `<strategy>:<key>` (heads.ts): what the queue summaries are kept by. */
  groupKey: string;
  /** Set when the job finished while its test was quarantined: when that quarantine ended. */
  quarantinedUntil: number | null;
}

/** One try of a job (job_attempts): its evidence is in `result.artifacts`. */
export interface AttemptRecord {
  jobId: string;
  attempt: number;
  leaseId: string;
  agentId: string;
  status: JobStatus;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  result: StoredResult | null;
}

/** One finished job of a test, as its history keeps it. */
export interface TestRunEntry {
  jobId: string;
  runId: string;
  outcome: TestOutcome;
  finishedAt: number;
  durationMs: number | null;
  message: string | null;
  /** When the test's quarantine ended, if it was quarantined then. */
  quarantinedUntil: number | null;
}

/** A test's history: counts since first seen, rates and run times over its last runs. */
export interface TestHistoryRecord {
  id: string;
  orgId: string;
  /** "" when its runs named no repository. */
  repo: string;
  testPath: string;
  target: Target;
  runs: number;
  passed: number;
  failed: number;
  flaky: number;
  errors: number;
  /** The last outcomes, oldest first, one letter each (history.ts: OUTCOME_CODES). */
  recent: string;
  durations: number[];
  flakeRate: number;
  failureRate: number;
  p50Ms: number;
  p95Ms: number;
  durationChangeMs: number;
  firstSeenAt: number;
  lastRunAt: number;
  lastPassedAt: number | null;
  lastFailedAt: number | null;
  /** Newest first. */
  recentRuns: TestRunEntry[];
  lastFailures: TestRunEntry[];
}

/** A quarantined test file of an org: it still runs and reports, but fails no run. */
export interface QuarantineRecord {
  orgId: string;
  testPath: string;
  reason: string;
  owner: string | null;
  automatic: boolean;
  createdAt: number;
  expiresAt: number;
}

/** A test's history with the quarantine in force on its file now. */
export interface TestView extends TestHistoryRecord {
  quarantine: QuarantineRecord | null;
}

export interface RunRecord {
  id: string;
  orgId: string;
  source: string;
  repo: string | null;
  sha: string | null;
  ref: string | null;
  createdAt: number;
  bundle: RunBundle | null;
  build: RunBuild | null;
  /** The later run that cancelled this one's unfinished jobs (RunService.submit, `supersede`). */
  supersededBy: string | null;
  /** Failures after which the rest of the run is cancelled (null: never). */
  failFast: number | null;
}

/** A run that supersedes the earlier runs of its repository and ref on its target and device. */
export interface Superseding {
  runId: string;
  orgId: string;
  repo: string;
  ref: string;
  target: Target;
  device: string | null;
}

/** What a run's agents need besides the test paths: its bundle and build. */
export type RunInputs = Pick<RunRecord, "bundle" | "build">;

export type RunCounts = Record<JobStatus | "flaky" | "quarantined" | "total", number>;

export interface RunView extends RunRecord {
  counts: RunCounts;
  appVersionIds: string[];
  finishedAt: number | null;
}

/** A page of a run's current jobs, oldest first, their results summarised (job-summary.ts). */
export interface RunPage extends RunView {
  jobs: JobRecord[];
  nextCursor: string | null;
}

export interface RunPageQuery {
  limit: number;
  /** A `nextCursor` of the page before. */
  cursor?: string | undefined;
}

export interface AgentRecord {
  id: string;
  orgId: string | null;
  name: string;
  target: Target;
  device: string | null;
  labels: string[];
  installed: string[];
  registeredAt: number;
  lastSeenAt: number;
  /** SHA-256 of the key its last registration was given (null: registered before agent keys). */
  keyHash: string | null;
  /** The live lease this agent holds, if any. */
  leaseId: string | null;
  /** Set: drained for its infrastructure errors; it takes no new leases until undrained. */
  drainedAt: number | null;
  /** Its latest infrastructure errors (oldest first): what drained it, when it is drained. */
  recentErrors: AgentError[];
}

/** An infrastructure error (result status `error`) an agent reported. */
export interface AgentError {
  at: number;
  jobId: string;
  message: string | null;
}

/** `errors` infrastructure errors within `windowMs` drain an agent (docs/configuration.md). */
export interface DrainRule {
  errors: number;
  windowMs: number;
}

export interface LeaseRecord {
  id: string;
  agentId: string;
  orgId: string;
  appVersionId: string;
  target: Target;
  groupKey: string;
  install: boolean;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
  endReason: string | null;
}

export interface LeaseGrant {
  lease: LeaseRecord;
  jobs: JobRecord[];
  /** The bundle and build of each of the jobs' runs, read by the claim itself. */
  inputs: Map<string, RunInputs>;
  reason: string;
}

export interface TokenRecord {
  id: string;
  orgId: string | null;
  name: string;
  scopes: string[];
  createdAt: number;
  /** null: never expires. */
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** An org's hold on a blob (the bytes live in app/blobs). */
export interface BlobRecord {
  orgId: string;
  sha256: string;
  size: number;
  kind: BlobKind;
  createdAt: number;
  lastReferencedAt: number;
  /** A bundle's file paths (api/bundle.ts inspectBundle); null for other kinds. */
  files: string[] | null;
}

export type NewBlob = Pick<BlobRecord, "orgId" | "sha256" | "size" | "kind"> & {
  files?: string[] | null;
};

/** What a device did for a lease, as its agent reported it (api/devices.ts). */
export interface LeaseDeviceRecord {
  leaseId: string;
  agentId: string;
  appVersionId: string;
  installs: number;
  sessions: number;
  installMs: number;
  sessionMs: number;
  reportedAt: number;
}

export type LeaseDeviceInput = Pick<
  LeaseDeviceRecord,
  "installs" | "sessions" | "installMs" | "sessionMs"
> & {
  /** The versions on the device now, most recent first: replaces the agent's `installed`. */
  installed?: string[];
};

/** Which orgs a caller may see: one org, or all of them (fleet tokens, open mode). */
export interface OrgScope {
  orgId: string | null;
}

/** What a lease's agent is checked by before anyone acts on the lease. */
export type LeaseHolder = Pick<AgentRecord, "orgId" | "keyHash">;
/** Whether the caller may act for the lease's agent; false: the lease is not found (404). */
export type LeaseHolderCheck = (agent: LeaseHolder) => boolean;

export interface SubmitOptions {
  idempotencyKey?: string | undefined;
  /** Hash of the request body: the same key with another body is refused. */
  requestHash?: string | undefined;
  /** The bundle and build as the service resolved them from the org's blobs. */
  bundle?: RunBundle | null;
  build?: RunBuild | null;
}

export interface QueueGroupView {
  key: string;
  orgId: string;
  appVersionId: string;
  target: Target;
  queued: number;
  priority: number;
  oldestQueuedAt: number;
  expectedWorkMs: number;
  activeLeases: number;
}

export interface TargetView {
  target: Target;
  queued: number;
  leased: number;
  running: number;
  agentsIdle: number;
  agentsBusy: number;
}

/** What the scheduler would hand the next idle agent of one target if it asked now. */
export interface NextLeaseView {
  target: Target;
  /** The idle agent asked about (its name only when the caller may see it); null when no agent
   * of the target is idle, and a new agent with nothing installed is asked about instead. */
  agent: { id: string; name: string | null } | null;
  /** Null when nothing is queued for it, or (for an org's caller) when another org's group wins. */
  decision: Decision | null;
}

export interface ReapReport {
  expiredLeases: number;
  requeued: number;
  failed: number;
  timedOut: number;
}

export interface ResultOutcome {
  job: JobRecord;
  retry: boolean;
  /** True when this post repeated one already recorded: nothing changed. */
  duplicate: boolean;
  /** True when the job went back to the queue (an infrastructure error with attempts left). */
  requeued: boolean;
}

export interface StoreOptions {
  leaseTtlMs: number;
  /** After an infrastructure error the job avoids that agent for this long. */
  avoidAgentMs: number;
  /** Extra time past a job's own timeout before the server ends it as timed_out. */
  timeoutGraceMs: number;
  scheduler: SchedulerConfig;
  grouping: GroupingStrategy;
  /** The automatic quarantine of flaky tests (history.ts); absent or null: off. */
  quarantineRule?: QuarantineRule | null;
  /** null or absent: agents are never drained by the store. */
  drainRule?: DrainRule | null;
  /** Run previously failed and never-seen tests first in each lease (history.ts failedFirst);
   * absent: on. */
  failedFirst?: boolean;
}

/**
 * Wake-ups for long polls. Topics: "work" (jobs became claimable), `run:<id>` (a job changed),
 * "tokens" (a token was created).
 */
export interface ChangeFeed {
  /** A mark to pass to `wait` as `since`: take it before reading what the wait is for. */
  mark(): number;
  /** Whether the topic fired since the mark (false may be stale once many topics fired since). */
  firedSince(topic: string, since: number): boolean;
  /**
   * Resolves true when the topic fired (since `since`, if given: at once when it already did),
   * false on timeout or abort.
   */
  wait(topic: string, timeoutMs: number, signal?: AbortSignal, since?: number): Promise<boolean>;
}

/** Messages for every replica's subscribers, this one's included (live log chunks). */
export interface Relay {
  /** Resolves once the message is on its way to every replica (after what was published before). */
  publish(message: string): Promise<void>;
  subscribe(listener: (message: string) => void): () => void;
}

export interface StoreMetrics {
  queuedByTarget: Record<string, number>;
  liveLeases: number;
}

export interface RerunFilter {
  target?: Target | undefined;
  all?: boolean | undefined;
}

/** A GitHub check run reporting one target of a run (see app/github/reporter.ts). */
export interface GithubCheckRecord {
  id: string;
  installationId: number;
  owner: string;
  repo: string;
  sha: string;
  name: string;
  target: Target;
  runId: string;
  orgId: string;
  testRoot: string;
  checkRunId: number | null;
  sentStatus: string | null;
  sentDigest: string | null;
  annotationsSent: number;
  finished: boolean;
  nextUpdateAt: number;
  failures: number;
  /** Why the reporter gave up on it (GitHub refused it for good), or null. */
  error: string | null;
  /** Counts the row's re-runs: a reporter's write about an earlier one is dropped. */
  generation: number;
  createdAt: number;
}

/** A webhook delivery, recorded when it arrives and processed after it was answered. */
export interface GithubDeliveryRecord {
  id: string;
  event: string;
  receivedAt: number;
  /** The JSON body until it is processed. */
  payload: string | null;
  attempts: number;
  nextAttemptAt: number | null;
  processedAt: number | null;
  error: string | null;
}

export type GithubDeliveryPatch = Partial<
  Pick<GithubDeliveryRecord, "payload" | "attempts" | "nextAttemptAt" | "processedAt" | "error">
>;

/** Which check rows: a run's, or a commit's in one installation's repository. */
export type GithubChecksOf =
  { runId: string } | { installationId: number; owner: string; repo: string; sha: string };

export type NewGithubCheck = Omit<
  GithubCheckRecord,
  | "id"
  | "checkRunId"
  | "sentStatus"
  | "sentDigest"
  | "annotationsSent"
  | "finished"
  | "nextUpdateAt"
  | "failures"
  | "error"
  | "generation"
  | "createdAt"
>;

export type GithubCheckPatch = Partial<
  Pick<
    GithubCheckRecord,
    | "checkRunId"
    | "sentStatus"
    | "sentDigest"
    | "annotationsSent"
    | "finished"
    | "nextUpdateAt"
    | "failures"
    | "error"
  >
>;

export interface Store {
  readonly engine: "sqlite" | "postgres";
  readonly changes: ChangeFeed;
  readonly relay: Relay;
  readonly options: StoreOptions;
  ping(): Promise<void>;
  close(): Promise<void>;

  createToken(token: TokenRecord & { hash: string }): Promise<void>;
  findToken(hash: string): Promise<TokenRecord | null>;
  hasTokens(): Promise<boolean>;
  listTokens(scope: OrgScope): Promise<TokenRecord[]>;
  /** The token after revoking it (revoked earlier: unchanged), or null if the scope has no such token. */
  revokeToken(id: string, scope: OrgScope, now: number): Promise<TokenRecord | null>;
  touchToken(id: string, now: number): Promise<void>;

  submitRun(
    input: SubmitRunInput,
    opts: SubmitOptions,
    now: number,
  ): Promise<{ run: RunView; jobs: JobRecord[]; replayed: boolean }>;
  getRun(id: string, scope: OrgScope): Promise<(RunView & { jobs: JobRecord[] }) | null>;
  listRuns(
    query: ListRunsQuery,
    scope: OrgScope,
  ): Promise<{ items: RunView[]; nextCursor: string | null }>;
  /** The run's counts only: what a waiter re-reads on each wake-up. */
  getRunView(id: string, scope: OrgScope): Promise<RunView | null>;
  /** The run with one page of its current jobs, their results summarised. */
  getRunPage(id: string, scope: OrgScope, query: RunPageQuery): Promise<RunPage | null>;
  getJob(id: string, scope: OrgScope): Promise<JobRecord | null>;
  /** The job's attempts, oldest first (the caller has checked the job's org). */
  listAttempts(jobId: string): Promise<AttemptRecord[]>;
  /** The jobs the given leases hold or held. */
  jobsOfLeases(leaseIds: string[], scope: OrgScope): Promise<JobRecord[]>;
  listJobs(
    query: ListJobsQuery,
    scope: OrgScope,
  ): Promise<{ items: JobRecord[]; nextCursor: string | null }>;
  cancelJob(id: string, scope: OrgScope, now: number): Promise<JobRecord | null>;
  cancelRun(id: string, scope: OrgScope, now: number): Promise<RunView | null>;
  /**
   * Cancels the unfinished jobs that the org's earlier runs of the same repository and ref hold
   * on the same target and device, and marks those runs superseded by `later`. The ids of the
   * runs it cancelled jobs of.
   */
  supersedeEarlier(later: Superseding, now: number): Promise<string[]>;
  /** Queues a new job for each of the run's failed, errored, timed-out or cancelled tests
   * (optionally of one target; with `all`, every finished test: a re-run in full); the old jobs
   * stay as history, superseded. */
  rerunFailed(
    id: string,
    scope: OrgScope,
    filter: RerunFilter,
    now: number,
  ): Promise<{ run: RunView & { jobs: JobRecord[] }; rerun: JobRecord[] } | null>;

  registerAgent(
    input: {
      name: string;
      target: Target;
      device: string | null;
      labels: string[];
      installed: string[];
      /** SHA-256 of the key this registration hands out (the previous one stops working). */
      keyHash?: string;
    },
    scope: OrgScope,
    now: number,
  ): Promise<AgentRecord>;
  getAgent(id: string, scope: OrgScope, now: number): Promise<AgentRecord | null>;
  listAgents(scope: OrgScope, now: number): Promise<AgentRecord[]>;
  /** Ends a drain: the agent takes leases again, its error count starts afresh. null: not found. */
  undrainAgent(id: string, scope: OrgScope, now: number): Promise<AgentRecord | null>;
  /** Extends the agent's lease; throws lease_lost when it no longer holds it. */
  heartbeat(
    agentId: string,
    leaseId: string | null,
    now: number,
  ): Promise<{ lease: LeaseRecord | null; cancelJobIds: string[] }>;
  /**
   * Chooses a group with the scheduler and claims a batch of it, atomically. `holder`: who may
   * act for the agent, checked in the claim (an agent refused is not found).
   */
  claimLease(agentId: string, now: number, holder?: LeaseHolderCheck): Promise<LeaseGrant | null>;
  /** `holder`: who may act on the lease, checked in the write (the HTTP routes pass one). */
  startJob(
    leaseId: string,
    jobId: string,
    attempt: number,
    now: number,
    holder?: LeaseHolderCheck,
  ): Promise<JobRecord>;
  reportResult(
    leaseId: string,
    jobId: string,
    result: ResultInput,
    now: number,
    holder?: LeaseHolderCheck,
  ): Promise<ResultOutcome>;
  releaseLease(leaseId: string, now: number): Promise<number>;
  getLease(id: string): Promise<LeaseRecord | null>;
  reapExpired(now: number): Promise<ReapReport>;
  /**
   * Moves every live lease's expiry later by `byMs`, time the server was not running, and to no
   * earlier than a full TTL from `now`: the server has a backlog of beats to answer on waking.
   */
  extendLiveLeases(byMs: number, now: number): Promise<number>;
  /**
   * Ends the live leases granted before `since` whose agent has started and finished nothing
   * since then while a job waits: those jobs go back to the queue. Answers how many leases.
   */
  reapUnstarted(since: number, now: number): Promise<number>;

  /** Adds check rows, due at once; a row for the same run and target is kept, not doubled. */
  addGithubChecks(checks: NewGithubCheck[], now: number): Promise<GithubCheckRecord[]>;
  /**
   * Takes up to `limit` unfinished check rows whose next update may go now, oldest first, and
   * holds them: their next update moves to `now + holdMs`, so of several replicas' reporters only
   * one works on a row at a time. Answers the rows as they were before the hold.
   */
  claimDueGithubChecks(now: number, limit: number, holdMs: number): Promise<GithubCheckRecord[]>;
  findGithubCheck(installationId: number, checkRunId: number): Promise<GithubCheckRecord | null>;
  /**
   * Writes what the reporter sent for `check` as it read it: nothing when the row was restarted
   * since (a re-run landed while its check run was on its way to GitHub), so the re-run is kept.
   */
  updateGithubCheck(
    check: Pick<GithubCheckRecord, "id" | "generation">,
    patch: GithubCheckPatch,
  ): Promise<void>;
  /** Starts the row over for a re-run: the patch, and the next generation. */
  restartGithubCheck(id: string, patch: GithubCheckPatch): Promise<void>;
  githubChecksOf(which: GithubChecksOf): Promise<GithubCheckRecord[]>;
  /**
   * Records a webhook delivery to process, due now; false when the id is known already (a
   * redelivery), unless processing it had been given up: then it is armed again. Forgets
   * deliveries older than a week.
   */
  receiveGithubDelivery(
    delivery: { id: string; event: string; payload: string },
    now: number,
  ): Promise<boolean>;
  /** Like claimDueGithubChecks, for unprocessed deliveries whose next attempt is due. */
  claimGithubDeliveries(
    now: number,
    limit: number,
    holdMs: number,
  ): Promise<GithubDeliveryRecord[]>;
  updateGithubDelivery(id: string, patch: GithubDeliveryPatch): Promise<void>;

  /** Records that an org holds a blob (it uploaded or referenced it); refreshes its last use. */
  recordBlob(blob: NewBlob, now: number): Promise<void>;
  /** The blob when the scope may see it (one of its org's rows; any row for fleet callers). */
  findBlob(sha256: string, scope: OrgScope): Promise<BlobRecord | null>;
  /** A new use of blobs the org holds (a result naming them, a run reusing its bundle). */
  touchBlobs(orgId: string, sha256s: string[], now: number): Promise<void>;
  /**
   * Retention: drops up to `limit` holdings unused since `before` (least recently used first)
   * and answers how many it dropped and the hashes nobody holds any more, whose bytes may go.
   */
  expireBlobs(before: number, limit: number): Promise<{ dropped: number; orphans: string[] }>;
  /** Distinct blobs held and their bytes. */
  blobUsage(): Promise<{ blobs: number; bytes: number }>;
  /**
   * Keeps what the lease's device did (a later report replaces it) and, when the report says
   * what the device holds, makes that the agent's installed versions. Answers the record and
   * whether it is the lease's first (a repeated post is not counted twice), or null when the
   * lease does not exist.
   */
  recordLeaseDevice(
    leaseId: string,
    input: LeaseDeviceInput,
    now: number,
  ): Promise<{ record: LeaseDeviceRecord; first: boolean } | null>;
  /** The device records of these leases (those that have one). */
  leaseDevices(leaseIds: string[]): Promise<LeaseDeviceRecord[]>;
  /** The device records of every lease that ran an attempt of the run's jobs. */
  runLeaseDevices(runId: string): Promise<LeaseDeviceRecord[]>;
  /** The bundle and build of each of these runs (for the jobs of a lease). */
  runInputs(runIds: string[]): Promise<Map<string, RunInputs>>;

  /** Tests' history, highest `query.sort` first, each with the quarantine in force at `now`. */
  listTests(
    query: ListTestsQuery,
    scope: OrgScope,
    now: number,
  ): Promise<{ items: TestView[]; nextCursor: string | null }>;
  getTest(id: string, scope: OrgScope, now: number): Promise<TestView | null>;
  /** Quarantines a test file of an org, replacing the quarantine it had. */
  quarantineTest(quarantine: QuarantineRecord): Promise<QuarantineRecord>;
  /** Ends the quarantine in force on a test file; false when there was none. */
  unquarantineTest(orgId: string, testPath: string, now: number): Promise<boolean>;
  /** The quarantines in force at `now`, soonest to end first. */
  listQuarantines(scope: OrgScope, now: number): Promise<QuarantineRecord[]>;

  queueOverview(
    scope: OrgScope,
    now: number,
  ): Promise<{ targets: TargetView[]; groups: QueueGroupView[] }>;
  /** For each target, the scheduler's decision for its next idle agent; claims nothing. */
  previewNextLeases(scope: OrgScope, now: number): Promise<NextLeaseView[]>;
  metrics(now: number): Promise<StoreMetrics>;
}
