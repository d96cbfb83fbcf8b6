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
  ResultInput,
  SubmitRunInput,
} from "../../api/schemas.js";
import type { BlobKind } from "../../api/blobs.js";
import type { JobStatus } from "../../api/status.js";
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
  status: string;
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
}

/** One try of a job (job_attempts): its evidence is in `result.artifacts`. */
export interface AttemptRecord {
  jobId: string;
  attempt: number;
  leaseId: string;
  agentId: string;
  status: string;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  result: StoredResult | null;
}

export interface RunRecord {
  id: string;
  orgId: string;
  source: string;
  repo: string | null;
  sha: string | null;
  ref: string | null;
  createdAt: number;
}

export type RunCounts = Record<JobStatus | "flaky" | "total", number>;

export interface RunView extends RunRecord {
  counts: RunCounts;
  appVersionIds: string[];
  finishedAt: number | null;
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
}

export type NewBlob = Pick<BlobRecord, "orgId" | "sha256" | "size" | "kind">;

/** Which orgs a caller may see: one org, or all of them (fleet tokens, open mode). */
export interface OrgScope {
  orgId: string | null;
}

export interface SubmitOptions {
  idempotencyKey?: string | undefined;
  /** Hash of the request body: the same key with another body is refused. */
  requestHash?: string | undefined;
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
}

/** Wake-ups for long polls. Topics: "work" (jobs became claimable), `run:<id>` (a job changed). */
export interface ChangeFeed {
  /** Resolves true when the topic fired, false on timeout or abort. */
  wait(topic: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
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
  /** Extends the agent's lease; throws lease_lost when it no longer holds it. */
  heartbeat(
    agentId: string,
    leaseId: string | null,
    now: number,
  ): Promise<{ lease: LeaseRecord | null; cancelJobIds: string[] }>;
  /** Chooses a group with the scheduler and claims a batch of it, atomically. */
  claimLease(agentId: string, now: number): Promise<LeaseGrant | null>;
  startJob(leaseId: string, jobId: string, attempt: number, now: number): Promise<JobRecord>;
  reportResult(
    leaseId: string,
    jobId: string,
    result: ResultInput,
    now: number,
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
  updateGithubCheck(id: string, patch: GithubCheckPatch): Promise<void>;
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

  queueOverview(
    scope: OrgScope,
    now: number,
  ): Promise<{ targets: TargetView[]; groups: QueueGroupView[] }>;
  /** For each target, the scheduler's decision for its next idle agent; claims nothing. */
  previewNextLeases(scope: OrgScope, now: number): Promise<NextLeaseView[]>;
  metrics(now: number): Promise<StoreMetrics>;
}
