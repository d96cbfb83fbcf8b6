/**
 * The scale-out engine: Postgres, shared by any number of server replicas. Every write is one
 * READ COMMITTED transaction; how concurrent replicas stay out of each other's way is written
 * beside each operation (leases.ts above all).
 */
import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import { OPEN_STATUSES } from "../../../api/status.js";
import type {
  ListJobsQuery,
  ListRunsQuery,
  ListTestsQuery,
  ResultInput,
  SubmitRunInput,
} from "../../../api/schemas.js";
import { LocalChangeFeed } from "../change-feed.js";
import { LocalRelay } from "../relay.js";
import { queueOverview } from "../overview.js";
import type {
  AgentRecord,
  GithubCheckPatch,
  GithubCheckRecord,
  GithubChecksOf,
  GithubDeliveryPatch,
  RerunFilter,
  Superseding,
  NewBlob,
  NewGithubCheck,
  OrgScope,
  RunPageQuery,
  QuarantineRecord,
  Relay,
  Store,
  StoreMetrics,
  StoreOptions,
  SubmitOptions,
  TokenRecord,
  LeaseHolderCheck,
  LeaseDeviceInput,
} from "../store.js";
import type { AgentInput } from "../sqlite/agents.js";
import { getAgent, listAgents, registerAgent, undrainAgent } from "./agents.js";
import { unavailableIfLost, type PgContext, type PgExec } from "./context.js";
import { ping } from "./database.js";
import * as blobOps from "./blobs.js";
import * as deviceOps from "./lease-devices.js";
import { runInputs } from "./run-inputs.js";
import * as githubOps from "./github.js";
import * as historyOps from "./history.js";
import * as leaseOps from "./leases.js";
import { previewNextLeases } from "./preview.js";
import { queuedJobs } from "./queued.js";
import { listAttempts } from "./attempts.js";
import * as runPages from "./run-pages.js";
import * as runOps from "./runs.js";
import * as stallOps from "./stalls.js";
import * as tokenOps from "./tokens.js";
import { jobs, leases } from "./schema.js";

export interface PgConnection {
  db: PgExec;
  /** Tells other replicas of changes (a shared server); absent for an embedded database. */
  broadcast?: (topics: Iterable<string>) => void;
  /** Messages to every replica; absent: this process only. */
  relay?: Relay;
  close(): Promise<void>;
}

/** Every operation: a lost connection answers 503 (retry), not 500. */
const guard = <T>(work: PromiseLike<T>): Promise<T> =>
  Promise.resolve(work).catch(unavailableIfLost);

export class PostgresStore implements Store {
  readonly engine = "postgres";
  readonly changes: LocalChangeFeed;
  readonly relay: Relay;
  private readonly ctx: PgContext;

  constructor(
    private readonly connection: PgConnection,
    readonly options: StoreOptions,
    feed = new LocalChangeFeed(),
  ) {
    this.changes = feed;
    this.relay = connection.relay ?? new LocalRelay();
    this.ctx = { db: connection.db, feed, broadcast: connection.broadcast, options };
  }

  async ping() {
    await ping(this.ctx.db);
  }

  async close() {
    await this.connection.close();
  }

  async createToken(token: TokenRecord & { hash: string }) {
    await guard(tokenOps.createToken(this.ctx.db, token));
    this.changes.publish("tokens");
    this.ctx.broadcast?.(["tokens"]);
  }
  findToken(hash: string) {
    return guard(tokenOps.findToken(this.ctx.db, hash));
  }
  hasTokens() {
    return guard(tokenOps.hasTokens(this.ctx.db));
  }
  listTokens(scope: OrgScope) {
    return guard(tokenOps.listTokens(this.ctx.db, scope));
  }
  revokeToken(id: string, scope: OrgScope, now: number) {
    return guard(tokenOps.revokeToken(this.ctx.db, id, scope, now));
  }
  touchToken(id: string, now: number) {
    return guard(tokenOps.touchToken(this.ctx.db, id, now));
  }

  submitRun(input: SubmitRunInput, opts: SubmitOptions, now: number) {
    return guard(runOps.submitRun(this.ctx, input, opts, now));
  }
  getRun(id: string, scope: OrgScope) {
    return guard(runOps.getRun(this.ctx.db, id, scope));
  }
  listRuns(query: ListRunsQuery, scope: OrgScope) {
    return guard(runOps.listRuns(this.ctx.db, query, scope));
  }
  getRunView(id: string, scope: OrgScope) {
    return guard(runPages.getRunView(this.ctx.db, id, scope));
  }
  getRunPage(id: string, scope: OrgScope, query: RunPageQuery) {
    return guard(runPages.getRunPage(this.ctx.db, id, scope, query));
  }
  getJob(id: string, scope: OrgScope) {
    return guard(runOps.getJob(this.ctx.db, id, scope));
  }
  listAttempts(jobId: string) {
    return guard(listAttempts(this.ctx.db, jobId));
  }
  jobsOfLeases(leaseIds: string[], scope: OrgScope) {
    return guard(runOps.jobsOfLeases(this.ctx.db, leaseIds, scope));
  }
  listJobs(query: ListJobsQuery, scope: OrgScope) {
    return guard(runOps.listJobs(this.ctx.db, query, scope));
  }
  cancelJob(id: string, scope: OrgScope, now: number) {
    return guard(runOps.cancelJob(this.ctx, id, scope, now));
  }
  cancelRun(id: string, scope: OrgScope, now: number) {
    return guard(runOps.cancelRun(this.ctx, id, scope, now));
  }
  supersedeEarlier(later: Superseding, now: number) {
    return guard(runOps.supersedeEarlier(this.ctx, later, now));
  }
  rerunFailed(id: string, scope: OrgScope, filter: RerunFilter, now: number) {
    return guard(runOps.rerunFailed(this.ctx, id, scope, filter, now));
  }

  registerAgent(input: AgentInput, scope: OrgScope, now: number) {
    return guard(
      registerAgent(this.ctx, input, scope, now, async (agentId) => {
        const held = await this.ctx.db
          .select({ id: leases.id })
          .from(leases)
          .where(and(eq(leases.agentId, agentId), isNull(leases.endedAt)));
        for (const lease of held) await leaseOps.expireLease(this.ctx, lease.id, "restarted", now);
      }),
    );
  }
  getAgent(id: string, scope: OrgScope, now: number): Promise<AgentRecord | null> {
    return guard(getAgent(this.ctx.db, id, scope, now));
  }
  listAgents(scope: OrgScope, now: number) {
    return guard(listAgents(this.ctx.db, scope, now));
  }
  undrainAgent(id: string, scope: OrgScope, now: number) {
    return guard(undrainAgent(this.ctx.db, id, scope, now));
  }
  heartbeat(agentId: string, leaseId: string | null, now: number) {
    return guard(leaseOps.heartbeat(this.ctx, agentId, leaseId, now));
  }
  claimLease(agentId: string, now: number, holder?: LeaseHolderCheck) {
    return guard(leaseOps.claimLease(this.ctx, agentId, now, holder));
  }
  startJob(
    leaseId: string,
    jobId: string,
    attempt: number,
    now: number,
    holder?: LeaseHolderCheck,
  ) {
    return guard(leaseOps.startJob(this.ctx, leaseId, jobId, attempt, now, holder));
  }
  reportResult(
    leaseId: string,
    jobId: string,
    result: ResultInput,
    now: number,
    holder?: LeaseHolderCheck,
  ) {
    return guard(leaseOps.reportResult(this.ctx, leaseId, jobId, result, now, holder));
  }
  releaseLease(leaseId: string, now: number) {
    return guard(leaseOps.releaseLease(this.ctx, leaseId, now));
  }
  async getLease(id: string) {
    const [lease] = await guard(this.ctx.db.select().from(leases).where(eq(leases.id, id)));
    return lease ?? null;
  }
  reapExpired(now: number) {
    return guard(leaseOps.reapExpired(this.ctx, now));
  }

  extendLiveLeases(byMs: number, now: number) {
    return guard(stallOps.extendLiveLeases(this.ctx, byMs, now));
  }

  reapUnstarted(since: number, now: number) {
    return guard(stallOps.reapUnstarted(this.ctx, since, now));
  }

  addGithubChecks(checks: NewGithubCheck[], now: number) {
    return guard(githubOps.addGithubChecks(this.ctx, checks, now));
  }
  claimDueGithubChecks(now: number, limit: number, holdMs: number) {
    return guard(githubOps.claimDueGithubChecks(this.ctx, now, limit, holdMs));
  }
  findGithubCheck(installationId: number, checkRunId: number) {
    return guard(githubOps.findGithubCheck(this.ctx.db, installationId, checkRunId));
  }
  updateGithubCheck(check: Pick<GithubCheckRecord, "id" | "generation">, patch: GithubCheckPatch) {
    return guard(githubOps.updateGithubCheck(this.ctx.db, check, patch));
  }
  restartGithubCheck(id: string, patch: GithubCheckPatch) {
    return guard(githubOps.restartGithubCheck(this.ctx.db, id, patch));
  }
  githubChecksOf(which: GithubChecksOf) {
    return guard(githubOps.githubChecksOf(this.ctx.db, which));
  }
  receiveGithubDelivery(delivery: { id: string; event: string; payload: string }, now: number) {
    return guard(githubOps.receiveGithubDelivery(this.ctx, delivery, now));
  }
  claimGithubDeliveries(now: number, limit: number, holdMs: number) {
    return guard(githubOps.claimGithubDeliveries(this.ctx, now, limit, holdMs));
  }
  updateGithubDelivery(id: string, patch: GithubDeliveryPatch) {
    return guard(githubOps.updateGithubDelivery(this.ctx.db, id, patch));
  }

  async recordBlob(blob: NewBlob, now: number) {
    await guard(blobOps.recordBlob(this.ctx.db, blob, now));
  }
  async findBlob(sha256: string, scope: OrgScope) {
    return guard(blobOps.findBlob(this.ctx.db, sha256, scope));
  }
  async touchBlobs(orgId: string, sha256s: string[], now: number) {
    await guard(blobOps.touchBlobs(this.ctx.db, orgId, sha256s, now));
  }
  async expireBlobs(before: number, limit: number) {
    return guard(blobOps.expireBlobs(this.ctx, before, limit));
  }
  async blobUsage() {
    return guard(blobOps.blobUsage(this.ctx.db));
  }
  async runInputs(runIds: string[]) {
    return guard(runInputs(this.ctx.db, runIds));
  }
  recordLeaseDevice(leaseId: string, input: LeaseDeviceInput, now: number) {
    return guard(deviceOps.recordLeaseDevice(this.ctx, leaseId, input, now));
  }
  leaseDevices(leaseIds: string[]) {
    return guard(deviceOps.leaseDevicesOf(this.ctx.db, leaseIds));
  }
  runLeaseDevices(runId: string) {
    return guard(deviceOps.runLeaseDevices(this.ctx.db, runId));
  }

  listTests(query: ListTestsQuery, scope: OrgScope, now: number) {
    return guard(historyOps.listTests(this.ctx.db, query, scope, now));
  }
  getTest(id: string, scope: OrgScope, now: number) {
    return guard(historyOps.getTest(this.ctx.db, id, scope, now));
  }
  quarantineTest(quarantine: QuarantineRecord) {
    return guard(historyOps.quarantineTest(this.ctx.db, quarantine));
  }
  unquarantineTest(orgId: string, testPath: string, now: number) {
    return guard(historyOps.unquarantineTest(this.ctx.db, orgId, testPath, now));
  }
  listQuarantines(scope: OrgScope, now: number) {
    return guard(historyOps.listQuarantines(this.ctx.db, scope, now));
  }

  queueOverview(scope: OrgScope, now: number) {
    return guard(this.overview(scope, now));
  }

  private async overview(scope: OrgScope, now: number) {
    const db = this.ctx.db;
    const byOrg = scope.orgId === null ? undefined : eq(jobs.orgId, scope.orgId);
    const rows = {
      queued: await queuedJobs(db, this.options.scheduler, byOrg),
      liveByGroup: await db
        .select({ groupKey: leases.groupKey, n: sql<number>`count(*)::int` })
        .from(leases)
        .where(and(isNull(leases.endedAt), gt(leases.expiresAt, now)))
        .groupBy(leases.groupKey),
      openByStatus: await db
        .select({ target: jobs.target, status: jobs.status, n: sql<number>`count(*)::int` })
        .from(jobs)
        .where(and(inArray(jobs.status, [...OPEN_STATUSES]), byOrg))
        .groupBy(jobs.target, jobs.status),
      fleet: await listAgents(db, scope, now),
    };
    return queueOverview(rows, this.options, now);
  }

  previewNextLeases(scope: OrgScope, now: number) {
    return guard(previewNextLeases(this.ctx, scope, now));
  }

  metrics(now: number): Promise<StoreMetrics> {
    return guard(this.counts(now));
  }

  private async counts(now: number): Promise<StoreMetrics> {
    const rows = await this.ctx.db
      .select({ target: jobs.target, n: sql<number>`count(*)::int` })
      .from(jobs)
      .where(eq(jobs.status, "queued"))
      .groupBy(jobs.target);
    const [live] = await this.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(leases)
      .where(and(isNull(leases.endedAt), gt(leases.expiresAt, now)));
    return {
      queuedByTarget: Object.fromEntries(rows.map((r) => [r.target, r.n])),
      liveLeases: live?.n ?? 0,
    };
  }
}
