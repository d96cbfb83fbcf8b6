/** The embedded engine: one SQLite file, WAL, every write in a BEGIN IMMEDIATE transaction. */
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
  Store,
  StoreOptions,
  SubmitOptions,
  TokenRecord,
  LeaseHolderCheck,
  LeaseDeviceInput,
} from "../store.js";
import { listAttempts } from "./attempts.js";
import * as runPages from "./run-pages.js";
import { getAgent, listAgents, registerAgent, undrainAgent, type AgentInput } from "./agents.js";
import type { SqliteContext } from "./context.js";
import { openSqlite, type SqliteOpenOptions } from "./database.js";
import { GroupCommit } from "./group-commit.js";
import { LocalRelay } from "../relay.js";
import * as blobOps from "./blobs.js";
import * as deviceOps from "./lease-devices.js";
import { runInputs } from "./run-inputs.js";
import * as githubOps from "./github.js";
import * as historyOps from "./history.js";
import { regroupQueued } from "./heads.js";
import * as leaseOps from "./leases.js";
import * as runOps from "./runs.js";
import * as stallOps from "./stalls.js";
import * as tokenOps from "./tokens.js";
import { previewNextLeases } from "./preview.js";
import { queuedJobs } from "./queued.js";
import { jobs, leases } from "./schema.js";

export class SqliteStore implements Store {
  readonly engine = "sqlite";
  readonly changes: LocalChangeFeed;
  readonly relay = new LocalRelay();
  private readonly ctx: SqliteContext;
  /** The lease cycle's writes and submissions commit in groups (group-commit.ts). */
  private readonly writes: GroupCommit;

  constructor(
    path: string,
    readonly options: StoreOptions,
    open: SqliteOpenOptions = { synchronous: "normal", busyTimeoutMs: 5000 },
  ) {
    const { raw, db } = openSqlite(path, open);
    this.changes = new LocalChangeFeed();
    this.ctx = { raw, db, feed: this.changes, options };
    this.writes = new GroupCommit(raw);
    regroupQueued(this.ctx);
  }

  async ping() {
    this.ctx.raw.prepare("select 1").get();
  }

  async close() {
    if (!this.ctx.raw.open) return;
    this.writes.flush();
    this.ctx.raw.close();
  }

  async createToken(token: TokenRecord & { hash: string }) {
    tokenOps.createToken(this.ctx, token);
    this.changes.publish("tokens");
  }
  async findToken(hash: string) {
    return tokenOps.findToken(this.ctx, hash);
  }
  async hasTokens() {
    return tokenOps.hasTokens(this.ctx);
  }
  async listTokens(scope: OrgScope) {
    return tokenOps.listTokens(this.ctx, scope);
  }
  async revokeToken(id: string, scope: OrgScope, now: number) {
    return tokenOps.revokeToken(this.ctx, id, scope, now);
  }
  async touchToken(id: string, now: number) {
    tokenOps.touchToken(this.ctx, id, now);
  }

  async submitRun(input: SubmitRunInput, opts: SubmitOptions, now: number) {
    return this.writes.run(() => runOps.submitRun(this.ctx, input, opts, now));
  }
  async getRun(id: string, scope: OrgScope) {
    return runOps.getRun(this.ctx, id, scope);
  }
  async listRuns(query: ListRunsQuery, scope: OrgScope) {
    return runOps.listRuns(this.ctx, query, scope);
  }
  async getRunView(id: string, scope: OrgScope) {
    return runPages.getRunView(this.ctx, id, scope);
  }
  async getRunPage(id: string, scope: OrgScope, query: RunPageQuery) {
    return runPages.getRunPage(this.ctx, id, scope, query);
  }
  async getJob(id: string, scope: OrgScope) {
    return runOps.getJob(this.ctx, id, scope);
  }
  async listAttempts(jobId: string) {
    return listAttempts(this.ctx, jobId);
  }
  async jobsOfLeases(leaseIds: string[], scope: OrgScope) {
    return runOps.jobsOfLeases(this.ctx, leaseIds, scope);
  }

  async listJobs(query: ListJobsQuery, scope: OrgScope) {
    return runOps.listJobs(this.ctx, query, scope);
  }
  async cancelJob(id: string, scope: OrgScope, now: number) {
    return runOps.cancelJob(this.ctx, id, scope, now);
  }
  async cancelRun(id: string, scope: OrgScope, now: number) {
    return runOps.cancelRun(this.ctx, id, scope, now);
  }
  async supersedeEarlier(later: Superseding, now: number) {
    return runOps.supersedeEarlier(this.ctx, later, now);
  }
  async rerunFailed(id: string, scope: OrgScope, filter: RerunFilter, now: number) {
    return runOps.rerunFailed(this.ctx, id, scope, filter, now);
  }

  async registerAgent(input: AgentInput, scope: OrgScope, now: number) {
    return registerAgent(this.ctx, input, scope, now, (agentId) => {
      const held = this.ctx.db
        .select({ id: leases.id })
        .from(leases)
        .where(and(eq(leases.agentId, agentId), isNull(leases.endedAt)))
        .all();
      for (const lease of held) leaseOps.expireLease(this.ctx, lease.id, "restarted", now);
    });
  }
  async getAgent(id: string, scope: OrgScope, now: number): Promise<AgentRecord | null> {
    return getAgent(this.ctx, id, scope, now);
  }
  async listAgents(scope: OrgScope, now: number) {
    return listAgents(this.ctx, scope, now);
  }
  async undrainAgent(id: string, scope: OrgScope, now: number) {
    return undrainAgent(this.ctx, id, scope, now);
  }
  async heartbeat(agentId: string, leaseId: string | null, now: number) {
    return this.writes.run(() => leaseOps.heartbeat(this.ctx, agentId, leaseId, now));
  }
  async claimLease(agentId: string, now: number, holder?: LeaseHolderCheck) {
    return this.writes.run(() => {
      const grant = leaseOps.claimLease(this.ctx, agentId, now, holder);
      if (grant)
        for (const runId of new Set(grant.jobs.map((j) => j.runId)))
          this.changes.publish(`run:${runId}`);
      return grant;
    });
  }
  async startJob(
    leaseId: string,
    jobId: string,
    attempt: number,
    now: number,
    holder?: LeaseHolderCheck,
  ) {
    return this.writes.run(() => leaseOps.startJob(this.ctx, leaseId, jobId, attempt, now, holder));
  }
  async reportResult(
    leaseId: string,
    jobId: string,
    result: ResultInput,
    now: number,
    holder?: LeaseHolderCheck,
  ) {
    return this.writes.run(() =>
      leaseOps.reportResult(this.ctx, leaseId, jobId, result, now, holder),
    );
  }
  async releaseLease(leaseId: string, now: number) {
    return this.writes.run(() => leaseOps.releaseLease(this.ctx, leaseId, now));
  }
  async getLease(id: string) {
    return this.ctx.db.select().from(leases).where(eq(leases.id, id)).get() ?? null;
  }
  async reapExpired(now: number) {
    return leaseOps.reapExpired(this.ctx, now);
  }

  async extendLiveLeases(byMs: number, now: number) {
    return stallOps.extendLiveLeases(this.ctx, byMs, now);
  }

  async reapUnstarted(since: number, now: number) {
    return stallOps.reapUnstarted(this.ctx, since, now);
  }

  async addGithubChecks(checks: NewGithubCheck[], now: number) {
    return githubOps.addGithubChecks(this.ctx, checks, now);
  }
  async claimDueGithubChecks(now: number, limit: number, holdMs: number) {
    return githubOps.claimDueGithubChecks(this.ctx, now, limit, holdMs);
  }
  async findGithubCheck(installationId: number, checkRunId: number) {
    return githubOps.findGithubCheck(this.ctx, installationId, checkRunId);
  }
  async updateGithubCheck(
    check: Pick<GithubCheckRecord, "id" | "generation">,
    patch: GithubCheckPatch,
  ) {
    githubOps.updateGithubCheck(this.ctx, check, patch);
  }
  async restartGithubCheck(id: string, patch: GithubCheckPatch) {
    githubOps.restartGithubCheck(this.ctx, id, patch);
  }
  async githubChecksOf(which: GithubChecksOf) {
    return githubOps.githubChecksOf(this.ctx, which);
  }
  async receiveGithubDelivery(
    delivery: { id: string; event: string; payload: string },
    now: number,
  ) {
    return githubOps.receiveGithubDelivery(this.ctx, delivery, now);
  }
  async claimGithubDeliveries(now: number, limit: number, holdMs: number) {
    return githubOps.claimGithubDeliveries(this.ctx, now, limit, holdMs);
  }
  async updateGithubDelivery(id: string, patch: GithubDeliveryPatch) {
    githubOps.updateGithubDelivery(this.ctx, id, patch);
  }

  async recordBlob(blob: NewBlob, now: number) {
    blobOps.recordBlob(this.ctx, blob, now);
  }
  async findBlob(sha256: string, scope: OrgScope) {
    return blobOps.findBlob(this.ctx, sha256, scope);
  }
  async touchBlobs(orgId: string, sha256s: string[], now: number) {
    blobOps.touchBlobs(this.ctx, orgId, sha256s, now);
  }
  async expireBlobs(before: number, limit: number) {
    return blobOps.expireBlobs(this.ctx, before, limit);
  }
  async blobUsage() {
    return blobOps.blobUsage(this.ctx);
  }
  async runInputs(runIds: string[]) {
    return runInputs(this.ctx, runIds);
  }
  async recordLeaseDevice(leaseId: string, input: LeaseDeviceInput, now: number) {
    return deviceOps.recordLeaseDevice(this.ctx, leaseId, input, now);
  }
  async leaseDevices(leaseIds: string[]) {
    return deviceOps.leaseDevicesOf(this.ctx, leaseIds);
  }
  async runLeaseDevices(runId: string) {
    return deviceOps.runLeaseDevices(this.ctx, runId);
  }

  async listTests(query: ListTestsQuery, scope: OrgScope, now: number) {
    return historyOps.listTests(this.ctx, query, scope, now);
  }
  async getTest(id: string, scope: OrgScope, now: number) {
    return historyOps.getTest(this.ctx, id, scope, now);
  }
  async quarantineTest(quarantine: QuarantineRecord) {
    return historyOps.quarantineTest(this.ctx, quarantine);
  }
  async unquarantineTest(orgId: string, testPath: string, now: number) {
    return historyOps.unquarantineTest(this.ctx, orgId, testPath, now);
  }
  async listQuarantines(scope: OrgScope, now: number) {
    return historyOps.listQuarantines(this.ctx, scope, now);
  }

  async queueOverview(scope: OrgScope, now: number) {
    const db = this.ctx.db;
    const byOrg = scope.orgId === null ? undefined : eq(jobs.orgId, scope.orgId);
    const rows = {
      queued: queuedJobs(db, this.options.scheduler, byOrg),
      liveByGroup: db
        .select({ groupKey: leases.groupKey, n: sql<number>`count(*)` })
        .from(leases)
        .where(and(isNull(leases.endedAt), gt(leases.expiresAt, now)))
        .groupBy(leases.groupKey)
        .all(),
      openByStatus: db
        .select({ target: jobs.target, status: jobs.status, n: sql<number>`count(*)` })
        .from(jobs)
        .where(and(inArray(jobs.status, [...OPEN_STATUSES]), byOrg))
        .groupBy(jobs.target, jobs.status)
        .all(),
      fleet: listAgents(this.ctx, scope, now),
    };
    return queueOverview(rows, this.options, now);
  }

  async previewNextLeases(scope: OrgScope, now: number) {
    return previewNextLeases(this.ctx, scope, now);
  }

  async metrics(now: number) {
    const rows = this.ctx.db
      .select({ target: jobs.target, n: sql<number>`count(*)` })
      .from(jobs)
      .where(eq(jobs.status, "queued"))
      .groupBy(jobs.target)
      .all();
    const live = this.ctx.db
      .select({ n: sql<number>`count(*)` })
      .from(leases)
      .where(and(isNull(leases.endedAt), gt(leases.expiresAt, now)))
      .get();
    return {
      queuedByTarget: Object.fromEntries(rows.map((r) => [r.target, r.n])),
      liveLeases: live?.n ?? 0,
    };
  }
}
