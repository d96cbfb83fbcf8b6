/**
 * The Store's behaviour, written once and run against every engine (store.test.ts). One store per
 * engine serves the whole suite: each test works in an org of its own, and agents registered in
 * an org see only that org's queue, so tests do not see each other's work. Time is passed in,
 * so expiry is tested by moving `now`, not by waiting.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ResultRequest,
  SubmitRunRequest,
  type ListJobsQuery,
  type ResultRequest as ResultBody,
  type SubmitRunRequest as SubmitBody,
} from "../../api/schemas.js";
import { TARGETS } from "../../api/targets.js";
import type { Target } from "../../api/types.js";
import type { LeaseGrant, Store } from "../../app/store/store.js";
import type { Engine, OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 10, 21, 12);
const SECOND = 1000;
const DAY = 86_400 * SECOND;

export function storeConformance(engine: Engine) {
  describe(`Store conformance: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    }, 120_000);
    afterAll(() => opened?.dispose());

    /**
     * The reaper sweeps every org: a test of it starts a day after anything before it, having
     * settled what earlier tests left behind, so its counts are its own.
     */
    let epoch = T0;
    const reaperEpoch = async () => {
      epoch += DAY;
      await store.reapExpired(epoch);
      return epoch;
    };
    const newOrg = () => `org-${randomBytes(5).toString("hex")}`;
    const submit = (
      org: string,
      body: Partial<SubmitBody>,
      now = T0,
      key?: string,
      hash?: string,
    ) =>
      store.submitRun(
        SubmitRunRequest.parse({
          org_id: org,
          app_version_id: "v1",
          tests: ["a.spec.ts"],
          ...body,
        }),
        { idempotencyKey: key, requestHash: hash },
        now,
      );
    const agent = (org: string, name: string, installed: string[] = [], now = T0) =>
      store.registerAgent(
        { name, target: "emulator", device: null, labels: [], installed },
        { orgId: org },
        now,
      );
    const result = (body: Partial<ResultBody> & Pick<ResultBody, "attempt">) =>
      ResultRequest.parse({ status: "passed", duration_ms: 1000, ...body });
    const claim = async (agentId: string, now = T0): Promise<LeaseGrant> => {
      const grant = await store.claimLease(agentId, now);
      if (!grant) throw new Error("expected a lease");
      return grant;
    };
    /** Starts a leased job and posts its result. */
    const finish = async (
      grant: LeaseGrant,
      jobId: string,
      body: Partial<ResultBody> = {},
      now = T0 + SECOND,
    ) => {
      const job = grant.jobs.find((j) => j.id === jobId)!;
      const attempt = body.attempt ?? job.attempts;
      await store.startJob(grant.lease.id, jobId, attempt, now);
      return store.reportResult(grant.lease.id, jobId, result({ ...body, attempt }), now);
    };

    it("keeps what a device did per lease, finds it by lease and by run, and takes its installed versions", async () => {
      const org = newOrg();
      const { run } = await submit(org, { tests: ["a.spec.ts", "b.spec.ts"] });
      const worker = await agent(org, "device-records");
      const grant = await claim(worker.id);
      for (const job of grant.jobs) await finish(grant, job.id);
      const report = { installs: 1, sessions: 2, installMs: 4200, sessionMs: 1800 };
      const first = await store.recordLeaseDevice(grant.lease.id, report, T0 + 2 * SECOND);
      expect(first).toEqual({
        first: true,
        record: {
          leaseId: grant.lease.id,
          agentId: worker.id,
          appVersionId: "v1",
          ...report,
          reportedAt: T0 + 2 * SECOND,
        },
      });
      const again = { ...report, sessions: 3, installed: ["v1", "v0"] };
      const second = await store.recordLeaseDevice(grant.lease.id, again, T0 + 3 * SECOND);
      expect(second).toMatchObject({ first: false, record: { sessions: 3 } });
      expect(await store.leaseDevices([grant.lease.id, "lse_nothere0000000"])).toEqual([
        second!.record,
      ]);
      expect(await store.leaseDevices([])).toEqual([]);
      expect(await store.runLeaseDevices(run.id)).toEqual([second!.record]);
      expect((await store.getAgent(worker.id, { orgId: org }, T0))!.installed).toEqual([
        "v1",
        "v0",
      ]);
      expect(await store.recordLeaseDevice("lse_nothere0000000", report, T0)).toBeNull();
    });

    it("reads a run a page of jobs at a time, their results summarised, or its counts alone", async () => {
      const org = newOrg();
      const { run } = await submit(org, { tests: ["a.spec.ts", "b.spec.ts", "c.spec.ts"] });
      const worker = await agent(org, "pager");
      const failure = {
        status: "failed" as const,
        message: "\n  expected 1 to be 2\n  at tests/a.spec.ts:3\n" + "x".repeat(5000),
        file: "tests/a.spec.ts",
        line: 3,
        log_tail: "output\n".repeat(1000),
        artifacts: [
          { name: "shot.png", sha256: "a".repeat(64), size: 10 },
          { name: "trace.zip", sha256: "b".repeat(64), size: 20 },
        ],
      };
      for (let done = 0; done < 3;) {
        const grant = await claim(worker.id);
        for (const job of grant.jobs) await finish(grant, job.id, failure);
        done += grant.jobs.length;
      }
      const first = (await store.getRunPage(run.id, { orgId: org }, { limit: 2 }))!;
      expect(first.jobs).toHaveLength(2);
      expect(first.counts).toMatchObject({ total: 3, failed: 3 });
      expect(first.jobs[0]!.result).toEqual({
        message: "expected 1 to be 2",
        file: "tests/a.spec.ts",
        line: 3,
        artifacts: [],
        artifacts_count: 2,
        truncated: true,
      });
      const second = (await store.getRunPage(
        run.id,
        { orgId: org },
        { limit: 2, cursor: first.nextCursor! },
      ))!;
      expect(second.jobs).toHaveLength(1);
      expect(second.nextCursor).toBeNull();
      const ids = [...first.jobs, ...second.jobs].map((j) => j.id);
      expect(ids).toEqual((await store.getRun(run.id, { orgId: org }))!.jobs.map((j) => j.id));
      // The job view keeps the whole result.
      expect((await store.getJob(ids[0]!, { orgId: org }))!.result!.log_tail).toBe(
        failure.log_tail,
      );

      const counts = (await store.getRunView(run.id, { orgId: org }))!;
      expect(counts.counts).toEqual(first.counts);
      expect(counts.finishedAt).toBe(first.finishedAt);
      expect(await store.getRunView(run.id, { orgId: newOrg() })).toBeNull();
      expect(await store.getRunPage(run.id, { orgId: newOrg() }, { limit: 2 })).toBeNull();
    });

    it("keeps tokens by hash, and knows whether any exist", async () => {
      expect(await store.hasTokens()).toBe(false);
      const token = {
        id: "tok_01KAAAAAAAAAAAAAAAAAAAAAAA",
        orgId: "acme",
        name: "ci",
        scopes: ["submit", "read"],
        createdAt: T0,
        expiresAt: T0 + 90 * DAY,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.createToken({ ...token, hash: "h1" });
      expect(await store.hasTokens()).toBe(true);
      expect(await store.findToken("h1")).toEqual(token);
      expect(await store.findToken("nope")).toBeNull();
    });

    it("lists an org's tokens without their hashes, records use, and revokes once", async () => {
      const org = newOrg();
      const base = {
        name: "ci",
        scopes: ["read"],
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.createToken({
        ...base,
        id: `tok_a${org}`,
        orgId: org,
        createdAt: T0,
        hash: `ha${org}`,
      });
      await store.createToken({
        ...base,
        id: `tok_b${org}`,
        orgId: org,
        createdAt: T0 + 1,
        hash: `hb${org}`,
      });
      await store.createToken({
        ...base,
        id: `tok_c${org}`,
        orgId: `${org}-other`,
        createdAt: T0,
        hash: `hc${org}`,
      });
      const listed = await store.listTokens({ orgId: org });
      expect(listed.map((t) => t.id)).toEqual([`tok_b${org}`, `tok_a${org}`]);
      expect(JSON.stringify(listed)).not.toContain(`ha${org}`);
      await store.touchToken(`tok_a${org}`, T0 + 5);
      expect((await store.findToken(`ha${org}`))!.lastUsedAt).toBe(T0 + 5);
      // Another org's token is not there to revoke.
      expect(await store.revokeToken(`tok_c${org}`, { orgId: org }, T0 + 6)).toBeNull();
      expect((await store.findToken(`hc${org}`))!.revokedAt).toBeNull();
      expect((await store.revokeToken(`tok_a${org}`, { orgId: org }, T0 + 7))!.revokedAt).toBe(
        T0 + 7,
      );
      expect((await store.revokeToken(`tok_a${org}`, { orgId: null }, T0 + 9))!.revokedAt).toBe(
        T0 + 7,
      );
      expect((await store.findToken(`ha${org}`))!.revokedAt).toBe(T0 + 7);
    });

    it("submits a run and reads it back; other orgs do not see it", async () => {
      const org = newOrg();
      const { run, jobs, replayed } = await submit(org, {
        tests: ["a.spec.ts", "b.spec.ts"],
        priority: 7,
        tags: ["smoke"],
        repo: "qualgent/app",
        sha: "abc",
      });
      expect(replayed).toBe(false);
      expect(run).toMatchObject({ orgId: org, repo: "qualgent/app", sha: "abc", createdAt: T0 });
      expect(run.counts).toMatchObject({ total: 2, queued: 2 });
      expect(run.appVersionIds).toEqual(["v1"]);
      expect(run.finishedAt).toBeNull();
      expect(jobs.map((j) => j.testPath).sort()).toEqual(["a.spec.ts", "b.spec.ts"]);
      expect(jobs[0]).toMatchObject({
        status: "queued",
        priority: 7,
        tags: ["smoke"],
        attempts: 0,
        flaky: false,
        result: null,
        queuedAt: T0,
      });
      const job = jobs[0]!;
      expect(await store.getJob(job.id, { orgId: org })).toEqual(job);
      expect(await store.getJob(job.id, { orgId: null })).toEqual(job);
      expect(await store.getJob(job.id, { orgId: newOrg() })).toBeNull();
      expect((await store.getRun(run.id, { orgId: org }))?.jobs).toHaveLength(2);
      expect(await store.getRun(run.id, { orgId: newOrg() })).toBeNull();
    });

    it("lists jobs and runs newest first, page by page with cursors", async () => {
      const org = newOrg();
      const runIds: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { run } = await submit(org, { tests: [`t${i}a.spec.ts`, `t${i}b.spec.ts`] }, T0 + i);
        runIds.push(run.id);
      }
      const query = (cursor?: string): ListJobsQuery => ({ org_id: org, limit: 4, cursor });
      const first = await store.listJobs(query(), { orgId: org });
      expect(first.items).toHaveLength(4);
      expect(first.nextCursor).not.toBeNull();
      const second = await store.listJobs(query(first.nextCursor!), { orgId: org });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
      const ids = [...first.items, ...second.items].map((j) => j.id);
      expect(ids).toEqual([...ids].sort().reverse());
      expect(new Set(ids).size).toBe(6);

      const byRun = await store.listJobs({ run_id: runIds[1], limit: 50 }, { orgId: org });
      expect(byRun.items.map((j) => j.runId)).toEqual([runIds[1], runIds[1]]);
      const foreign = await store.listJobs({ org_id: org, limit: 50 }, { orgId: newOrg() });
      expect(foreign.items).toEqual([]);

      const runsPage = await store.listRuns({ org_id: org, limit: 2 }, { orgId: null });
      expect(runsPage.items.map((r) => r.id)).toEqual([runIds[2], runIds[1]]);
      const rest = await store.listRuns(
        { org_id: org, limit: 2, cursor: runsPage.nextCursor! },
        { orgId: null },
      );
      expect(rest.items.map((r) => r.id)).toEqual([runIds[0]]);
      expect(rest.nextCursor).toBeNull();
      const queued = await store.listRuns(
        { org_id: org, status: "queued", limit: 10 },
        { orgId: org },
      );
      expect(queued.items).toHaveLength(3);
      const passed = await store.listRuns(
        { org_id: org, status: "passed", limit: 10 },
        { orgId: org },
      );
      expect(passed.items).toHaveLength(0);
    });

    it("answers a repeated Idempotency-Key with the first run, and refuses it for another body", async () => {
      const org = newOrg();
      const first = await submit(org, { tests: ["x.spec.ts"] }, T0, "key-1", "hash-a");
      const again = await submit(org, { tests: ["x.spec.ts"] }, T0 + 5, "key-1", "hash-a");
      expect(again.replayed).toBe(true);
      expect(again.run.id).toBe(first.run.id);
      expect(again.jobs.map((j) => j.id)).toEqual(first.jobs.map((j) => j.id));
      await expect(
        submit(org, { tests: ["y.spec.ts"] }, T0, "key-1", "hash-b"),
      ).rejects.toMatchObject({ code: "idempotency_mismatch" });
      // The key is per org.
      const other = await submit(newOrg(), { tests: ["x.spec.ts"] }, T0, "key-1", "hash-a");
      expect(other.replayed).toBe(false);
    });

    it("claims a whole group, preferring the app version the agent has installed", async () => {
      const org = newOrg();
      await submit(org, { app_version_id: "v1", tests: ["a.spec.ts", "b.spec.ts"] });
      await submit(org, { app_version_id: "v2", tests: ["c.spec.ts", "d.spec.ts", "e.spec.ts"] });
      const warm = await agent(org, "warm", ["v2"]);
      const cold = await agent(org, "cold");

      const first = await claim(warm.id);
      expect(first.lease).toMatchObject({ appVersionId: "v2", install: false, agentId: warm.id });
      expect(first.reason).toBe("affinity");
      expect(first.jobs.map((j) => j.testPath).sort()).toEqual([
        "c.spec.ts",
        "d.spec.ts",
        "e.spec.ts",
      ]);
      expect(first.jobs.every((j) => j.status === "leased" && j.attempts === 1)).toBe(true);
      expect(first.jobs.every((j) => j.leaseId === first.lease.id)).toBe(true);

      const second = await claim(cold.id);
      expect(second.lease).toMatchObject({ appVersionId: "v1", install: true });
      expect(second.jobs).toHaveLength(2);
      expect((await store.getAgent(cold.id, { orgId: org }, T0))?.installed).toEqual(["v1"]);
      expect((await store.getAgent(cold.id, { orgId: org }, T0))?.leaseId).toBe(second.lease.id);

      // Nothing left, and a holder must release before leasing again.
      const third = await agent(org, "third");
      expect(await store.claimLease(third.id, T0)).toBeNull();
      await expect(store.claimLease(warm.id, T0)).rejects.toMatchObject({ code: "lease_active" });
      await expect(store.claimLease("agt_01KAAAAAAAAAAAAAAAAAAAAAAA", T0)).rejects.toMatchObject({
        code: "not_found",
      });
    });

    it("hands a job to one lease only, even when agents claim at the same moment", async () => {
      const org = newOrg();
      await submit(org, { tests: Array.from({ length: 30 }, (_, i) => `p${i}.spec.ts`) });
      await submit(org, { app_version_id: "v2", tests: ["q1.spec.ts", "q2.spec.ts"] });
      const fleet = await Promise.all(Array.from({ length: 6 }, (_, i) => agent(org, `c${i}`)));
      const grants = await Promise.all(fleet.map((a) => store.claimLease(a.id, T0)));
      const granted = grants.filter((g) => g !== null);
      // Work was waiting and agents were idle: a claim that grants nothing is a failure too.
      expect(granted.length).toBeGreaterThan(0);
      const held = granted.flatMap((g) => g.jobs.map((j) => j.id));
      expect(held.length).toBeGreaterThan(0);
      expect(new Set(held).size).toBe(held.length);
      for (const g of granted) {
        for (const j of g.jobs) {
          expect((await store.getJob(j.id, { orgId: org }))?.leaseId).toBe(g.lease.id);
        }
      }
      const queued = await store.listJobs(
        { org_id: org, status: "queued", limit: 100 },
        { orgId: org },
      );
      expect(held.length + queued.items.length).toBe(32);
    });

    it("keeps jobs pinned to a device for agents on that device", async () => {
      const org = newOrg();
      await submit(org, { tests: ["pin.spec.ts"], device: "Pixel_7" });
      const other = await store.registerAgent(
        { name: "other", target: "emulator", device: "Pixel_9", labels: [], installed: [] },
        { orgId: org },
        T0,
      );
      expect(await store.claimLease(other.id, T0)).toBeNull();
      const pixel = await store.registerAgent(
        { name: "pixel", target: "emulator", device: "Pixel_7", labels: [], installed: [] },
        { orgId: org },
        T0,
      );
      expect((await claim(pixel.id)).jobs.map((j) => j.testPath)).toEqual(["pin.spec.ts"]);
    });

    it("extends a lease on heartbeat; an expired one is reaped and its jobs requeued", async () => {
      const org = newOrg();
      const ttl = store.options.leaseTtlMs;
      const t0 = await reaperEpoch();
      await submit(org, { tests: ["a.spec.ts", "b.spec.ts"], max_attempts: 2 }, t0);
      const a = await agent(org, "a", [], t0);
      const grant = await claim(a.id, t0);
      const beat = await store.heartbeat(a.id, grant.lease.id, t0 + ttl / 2);
      expect(beat.lease?.expiresAt).toBe(t0 + ttl / 2 + ttl);
      expect(beat.cancelJobIds).toEqual([]);
      await store.startJob(grant.lease.id, grant.jobs[0]!.id, 1, t0 + ttl / 2);

      const late = t0 + 2 * ttl;
      const report = await store.reapExpired(late);
      expect(report).toMatchObject({ expiredLeases: 1, requeued: 2, failed: 0 });
      expect(await store.reapExpired(late)).toMatchObject({ expiredLeases: 0, requeued: 0 });
      expect((await store.getLease(grant.lease.id))?.endReason).toBe("expired");
      await expect(store.heartbeat(a.id, grant.lease.id, late)).rejects.toMatchObject({
        code: "lease_lost",
      });
      // The lost agent's late result changes nothing.
      await expect(
        store.reportResult(grant.lease.id, grant.jobs[0]!.id, result({ attempt: 1 }), late),
      ).rejects.toMatchObject({ code: "stale_lease" });
      const started = (await store.getJob(grant.jobs[0]!.id, { orgId: org }))!;
      expect(started).toMatchObject({ status: "queued", attempts: 1, avoidAgentId: a.id });

      // Lost once more: its attempts are spent, so it ends as an error.
      const b = await agent(org, "b", [], late);
      const again = await claim(b.id, late);
      expect(again.jobs.map((j) => j.id)).toContain(started.id);
      await store.startJob(again.lease.id, started.id, 2, late);
      const reaped = await store.reapExpired(late + 2 * ttl);
      // Both jobs were held by both expired leases: two lost tries each spend their attempts.
      expect(reaped).toMatchObject({ expiredLeases: 1, failed: 2, requeued: 0 });
      const ended = (await store.getJob(started.id, { orgId: org }))!;
      expect(ended.status).toBe("error");
      expect(ended.result?.message).toMatch(/agent lost/);
    });

    it("ends a job that runs far past its timeout", async () => {
      const org = newOrg();
      const t0 = await reaperEpoch();
      await submit(org, { tests: ["slow.spec.ts"], timeout_s: 10 }, t0);
      const a = await agent(org, "a", [], t0);
      const grant = await claim(a.id, t0);
      const job = grant.jobs[0]!;
      await store.startJob(grant.lease.id, job.id, 1, t0);
      const now = t0 + 10 * SECOND + store.options.timeoutGraceMs + 1;
      await store.heartbeat(a.id, grant.lease.id, now - 1);
      const report = await store.reapExpired(now);
      expect(report.timedOut).toBe(1);
      expect((await store.getJob(job.id, { orgId: org }))?.status).toBe("timed_out");
      // The agent still has to kill the test: its lease stays open until it releases it.
      expect((await store.getLease(grant.lease.id))?.endedAt).toBeNull();
      expect((await store.heartbeat(a.id, grant.lease.id, now)).cancelJobIds).toEqual([job.id]);
      await store.releaseLease(grant.lease.id, now);
      expect((await store.getLease(grant.lease.id))?.endReason).toBe("released");
    });

    it("records a result once: a repeat is a duplicate, a different one a conflict", async () => {
      const org = newOrg();
      const { run } = await submit(org, { tests: ["a.spec.ts", "b.spec.ts"] });
      const a = await agent(org, "a");
      const grant = await claim(a.id);
      const [first, second] = grant.jobs;
      await expect(store.startJob(grant.lease.id, first!.id, 2, T0)).rejects.toMatchObject({
        code: "result_conflict",
      });
      const done = await finish(grant, first!.id, {
        status: "failed",
        message: "boom",
        file: "a.spec.ts",
        line: 3,
      });
      expect(done).toMatchObject({ retry: false, duplicate: false });
      expect(done.job).toMatchObject({ status: "failed", testFailures: 1, durationMs: 1000 });
      expect(done.job.result).toMatchObject({ message: "boom", file: "a.spec.ts", line: 3 });
      const repeat = await store.reportResult(
        grant.lease.id,
        first!.id,
        result({ attempt: 1, status: "failed", message: "boom", file: "a.spec.ts", line: 3 }),
        T0 + 2 * SECOND,
      );
      expect(repeat.duplicate).toBe(true);
      expect(repeat.job.finishedAt).toBe(done.job.finishedAt);
      await expect(
        store.reportResult(grant.lease.id, first!.id, result({ attempt: 1 }), T0 + 2 * SECOND),
      ).rejects.toMatchObject({ code: "result_conflict" });
      await expect(store.startJob(grant.lease.id, first!.id, 1, T0)).rejects.toMatchObject({
        code: "job_finished",
      });

      await finish(grant, second!.id);
      expect((await store.getLease(grant.lease.id))?.endReason).toBe("completed");
      const view = (await store.getRun(run.id, { orgId: org }))!;
      expect(view.counts).toMatchObject({ total: 2, passed: 1, failed: 1 });
      expect(view.finishedAt).toBe(T0 + SECOND);
      // Another org's lease cannot touch the job.
      const stranger = newOrg();
      await submit(stranger, {});
      const s = await claim((await agent(stranger, "s")).id);
      await expect(
        store.reportResult(s.lease.id, first!.id, result({ attempt: 1 }), T0),
      ).rejects.toMatchObject({ code: "not_found" });
    });

    it("retries a test failure on the same lease and marks a later pass flaky", async () => {
      const org = newOrg();
      await submit(org, { tests: ["flaky.spec.ts"], retries: 1 });
      const a = await agent(org, "a");
      const grant = await claim(a.id);
      const job = grant.jobs[0]!;
      const failed = await finish(grant, job.id, { status: "failed", message: "once" });
      expect(failed.retry).toBe(true);
      expect(failed.job).toMatchObject({ status: "leased", attempts: 2, leaseId: grant.lease.id });
      const passed = await finish(grant, job.id, { attempt: 2 }, T0 + 3 * SECOND);
      expect(passed.job).toMatchObject({ status: "passed", flaky: true, attempts: 2 });
      expect((await store.getLease(grant.lease.id))?.endReason).toBe("completed");
    });

    it("keeps each attempt's evidence apart: a flaky test lists the failing try next to the pass", async () => {
      const org = newOrg();
      await submit(org, { tests: ["flaky.spec.ts"], retries: 1 });
      const grant = await claim((await agent(org, "a")).id);
      const job = grant.jobs[0]!;
      const shot = {
        name: "failed.png",
        kind: "screenshot" as const,
        sha256: "a".repeat(64),
        size: 3,
      };
      await finish(grant, job.id, { status: "failed", message: "once", artifacts: [shot] });
      const log = { name: "output.log", kind: "log" as const, sha256: "b".repeat(64), size: 9 };
      await finish(grant, job.id, { attempt: 2, artifacts: [log] }, T0 + 3 * SECOND);
      const attempts = await store.listAttempts(job.id);
      expect(attempts.map((a) => [a.attempt, a.status, a.result?.artifacts])).toEqual([
        [1, "failed", [shot]],
        [2, "passed", [log]],
      ]);
      expect(await store.listAttempts("job_unknown")).toEqual([]);
    });

    it("sends an infrastructure error back to the queue, away from that agent", async () => {
      const org = newOrg();
      await submit(org, { tests: ["infra.spec.ts"], max_attempts: 2 });
      const a = await agent(org, "a");
      const b = await agent(org, "b");
      const grant = await claim(a.id);
      const job = grant.jobs[0]!;
      const outcome = await finish(grant, job.id, { status: "error", message: "install failed" });
      expect(outcome.job).toMatchObject({ status: "queued", leaseId: null, avoidAgentId: a.id });
      expect(await store.claimLease(a.id, T0 + 2 * SECOND)).toBeNull();
      const retry = await claim(b.id, T0 + 2 * SECOND);
      expect(retry.jobs.map((j) => j.id)).toEqual([job.id]);
      const last = await finish(retry, job.id, { status: "error" }, T0 + 3 * SECOND);
      expect(last.job.status).toBe("error");
    });

    it("cancels queued jobs at once and tells the agent of leased ones", async () => {
      const org = newOrg();
      const { run } = await submit(org, { tests: ["a.spec.ts", "b.spec.ts"] });
      const queuedRun = await submit(org, { app_version_id: "v9", tests: ["c.spec.ts"] });
      const a = await agent(org, "a", ["v1"]);
      const grant = await claim(a.id);
      expect(grant.lease.appVersionId).toBe("v1");
      await store.startJob(grant.lease.id, grant.jobs[0]!.id, 1, T0);

      const cancelled = await store.cancelRun(run.id, { orgId: org }, T0 + SECOND);
      expect(cancelled?.counts).toMatchObject({ total: 2, cancelled: 2 });
      const beat = await store.heartbeat(a.id, grant.lease.id, T0 + 2 * SECOND);
      expect(beat.cancelJobIds.sort()).toEqual(grant.jobs.map((j) => j.id).sort());
      // Busy until its test's processes are gone: the lease is the agent's until it releases it.
      const busy = (await store.listAgents({ orgId: org }, T0 + 2 * SECOND)).find(
        (x) => x.id === a.id,
      );
      expect(busy?.leaseId).toBe(grant.lease.id);
      await expect(
        store.reportResult(
          grant.lease.id,
          grant.jobs[0]!.id,
          result({ attempt: 1 }),
          T0 + 2 * SECOND,
        ),
      ).rejects.toMatchObject({ code: "job_finished" });

      const job = queuedRun.jobs[0]!;
      expect((await store.cancelJob(job.id, { orgId: org }, T0))?.status).toBe("cancelled");
      expect(await store.cancelJob(job.id, { orgId: newOrg() }, T0)).toBeNull();
      expect(await store.cancelRun(queuedRun.run.id, { orgId: newOrg() }, T0)).toBeNull();
    });

    it("supersedes the earlier unfinished runs of a branch on the same target and device", async () => {
      const org = newOrg();
      const branch = { repo: "acme/mobile", ref: "refs/heads/feature" };
      const older = await submit(org, { ...branch, tests: ["a.spec.ts", "b.spec.ts"] });
      const done = await submit(org, { ...branch, tests: ["done.spec.ts"] });
      await store.cancelRun(done.run.id, { orgId: org }, T0);
      const untouched = [
        await submit(org, { ...branch, ref: "refs/heads/main" }),
        await submit(org, { ...branch, repo: "acme/other" }),
        await submit(org, { ...branch, target: "device" }),
        await submit(org, { ...branch, device: "Pixel 7" }),
        await submit(newOrg(), branch),
      ];
      const a = await agent(org, "a");
      const grant = await claim(a.id);
      expect(grant.jobs.map((j) => j.runId)).toContain(older.run.id);
      await store.startJob(grant.lease.id, grant.jobs[0]!.id, 1, T0);
      const later = await submit(org, branch, T0 + SECOND);
      const superseding = {
        runId: later.run.id,
        orgId: org,
        ...branch,
        target: "emulator",
      } as const;

      expect(await store.supersedeEarlier({ ...superseding, device: null }, T0 + SECOND)).toEqual([
        older.run.id,
      ]);
      const run = await store.getRun(older.run.id, { orgId: org });
      expect(run).toMatchObject({ supersededBy: later.run.id, counts: { cancelled: 2 } });
      // The agent hears of its started job like of any cancel.
      const beat = await store.heartbeat(a.id, grant.lease.id, T0 + 2 * SECOND);
      expect(beat.cancelJobIds).toContain(grant.jobs[0]!.id);
      expect((await store.getRun(done.run.id, { orgId: org }))?.supersededBy).toBeNull();
      for (const other of untouched) {
        const view = await store.getRun(other.run.id, { orgId: null });
        expect(view).toMatchObject({ supersededBy: null, counts: { cancelled: 0 } });
      }
      expect((await store.getRun(later.run.id, { orgId: org }))?.counts.queued).toBe(1);
      // Nothing is left to supersede: a second call changes nothing.
      expect(await store.supersedeEarlier({ ...superseding, device: null }, T0 + SECOND)).toEqual(
        [],
      );
    });

    it("releases a lease: unstarted jobs return without spending an attempt", async () => {
      const org = newOrg();
      await submit(org, { tests: ["a.spec.ts", "b.spec.ts"] });
      const a = await agent(org, "a");
      const grant = await claim(a.id);
      const [started, untouched] = grant.jobs;
      await store.startJob(grant.lease.id, started!.id, 1, T0);
      expect(await store.releaseLease(grant.lease.id, T0 + SECOND)).toBe(2);
      expect(await store.releaseLease(grant.lease.id, T0 + SECOND)).toBe(0);
      expect(await store.getJob(untouched!.id, { orgId: org })).toMatchObject({
        status: "queued",
        attempts: 0,
      });
      expect(await store.getJob(started!.id, { orgId: org })).toMatchObject({
        status: "queued",
        attempts: 1,
      });
      expect((await store.getLease(grant.lease.id))?.endReason).toBe("released");
    });

    it("shows the queue by group and target", async () => {
      const org = newOrg();
      await submit(org, { app_version_id: "v1", tests: ["a.spec.ts", "b.spec.ts"], priority: 3 });
      await submit(org, { app_version_id: "v2", tests: ["c.spec.ts"], priority: 8 }, T0 + 1);
      const a = await agent(org, "a");
      const { groups, targets } = await store.queueOverview({ orgId: org }, T0);
      expect(groups.map((g) => [g.appVersionId, g.queued, g.priority])).toEqual([
        ["v2", 1, 8],
        ["v1", 2, 3],
      ]);
      expect(targets.find((t) => t.target === "emulator")).toMatchObject({
        queued: 3,
        leased: 0,
        agentsIdle: 1,
        agentsBusy: 0,
      });
      await claim(a.id);
      const after = await store.queueOverview({ orgId: org }, T0);
      expect(after.targets.find((t) => t.target === "emulator")).toMatchObject({
        agentsIdle: 0,
        agentsBusy: 1,
      });
      expect(after.groups.reduce((n, g) => n + g.queued, 0)).toBeLessThan(3);
      const metrics = await store.metrics(T0);
      expect(metrics.liveLeases).toBeGreaterThanOrEqual(1);
      expect(metrics.queuedByTarget.emulator).toBeGreaterThanOrEqual(1);
    });

    it("keeps an agent's id when it registers again, ending the lease it held", async () => {
      const org = newOrg();
      await submit(org, { tests: ["a.spec.ts"] });
      const first = await agent(org, "device-1", ["v0"]);
      const grant = await claim(first.id);
      await store.startJob(grant.lease.id, grant.jobs[0]!.id, 1, T0);
      const again = await agent(org, "device-1", [], T0 + SECOND);
      expect(again.id).toBe(first.id);
      expect(again.leaseId).toBeNull();
      expect((await store.getLease(grant.lease.id))?.endReason).toBe("restarted");
      expect((await store.getJob(grant.jobs[0]!.id, { orgId: org }))?.status).toBe("queued");
      const fleet = await store.listAgents({ orgId: org }, T0 + SECOND);
      expect(fleet.map((a) => a.name)).toEqual(["device-1"]);
      expect(await store.getAgent(first.id, { orgId: newOrg() }, T0)).toBeNull();
      expect((await store.listAgents({ orgId: null }, T0)).some((a) => a.id === first.id)).toBe(
        true,
      );
    });

    it("re-runs a run's failed jobs as new jobs and counts only the current ones", async () => {
      const org = newOrg();
      const { run } = await submit(org, { tests: ["ok.spec.ts", "bad.spec.ts"] });
      const a = await agent(org, "a");
      const grant = await claim(a.id);
      const ok = grant.jobs.find((j) => j.testPath === "ok.spec.ts")!;
      const bad = grant.jobs.find((j) => j.testPath === "bad.spec.ts")!;
      await finish(grant, ok.id);
      await finish(grant, bad.id, { status: "failed" });

      const rerun = (await store.rerunFailed(run.id, { orgId: org }, {}, T0 + 10 * SECOND))!;
      expect(rerun.rerun).toHaveLength(1);
      expect(rerun.rerun[0]).toMatchObject({
        testPath: "bad.spec.ts",
        status: "queued",
        rerunOf: bad.id,
      });
      expect(rerun.run.counts).toMatchObject({ total: 2, passed: 1, queued: 1, failed: 0 });
      expect((await store.getJob(bad.id, { orgId: org }))?.supersededBy).toBe(rerun.rerun[0]!.id);
      // Nothing failed now: a second re-run queues nothing.
      expect((await store.rerunFailed(run.id, { orgId: org }, {}, T0))?.rerun).toEqual([]);
      expect(await store.rerunFailed(run.id, { orgId: newOrg() }, {}, T0)).toBeNull();
    });

    it("lists only the runs with a job for the asked app version", async () => {
      const org = newOrg();
      const { run: v1 } = await submit(org, { app_version_id: "v1" });
      const { run: v2 } = await submit(org, { app_version_id: "v2" }, T0 + 1);
      await submit(newOrg(), { app_version_id: "v2" }, T0 + 2);
      const runsOf = async (appVersion: string, status?: "queued" | "passed") =>
        (
          await store.listRuns(
            { org_id: org, app_version_id: appVersion, status, limit: 10 },
            { orgId: org },
          )
        ).items.map((r) => r.id);
      expect(await runsOf("v2")).toEqual([v2.id]);
      expect(await runsOf("v1")).toEqual([v1.id]);
      expect(await runsOf("v1", "queued")).toEqual([v1.id]);
      expect(await runsOf("v1", "passed")).toEqual([]);
      expect(await runsOf("v9")).toEqual([]);
    });

    it("finds the jobs leases hold or held, within the caller's org", async () => {
      const org = newOrg();
      await submit(org, { app_version_id: "v1", tests: ["a.spec.ts", "b.spec.ts"] });
      await submit(org, { app_version_id: "v2", tests: ["c.spec.ts"] });
      const first = await claim((await agent(org, "one")).id);
      const second = await claim((await agent(org, "two")).id);
      await finish(first, first.jobs[0]!.id);
      const held = [...first.jobs, ...second.jobs].map((j) => j.id).sort();
      const found = await store.jobsOfLeases([first.lease.id, second.lease.id], { orgId: org });
      expect(found.map((j) => j.id)).toEqual(held);
      expect(found.find((j) => j.id === first.jobs[0]!.id)?.status).toBe("passed");
      expect(await store.jobsOfLeases([second.lease.id], { orgId: null })).toEqual(second.jobs);
      expect(await store.jobsOfLeases([first.lease.id], { orgId: newOrg() })).toEqual([]);
      expect(await store.jobsOfLeases([], { orgId: org })).toEqual([]);
    });

    it("previews the next lease of each target with the claim's own decision, claiming nothing", async () => {
      const org = newOrg();
      await submit(org, { app_version_id: "v1", tests: ["a.spec.ts", "b.spec.ts"] });
      await submit(org, { app_version_id: "v2", tests: ["c.spec.ts", "d.spec.ts", "e.spec.ts"] });
      const cold = await agent(org, "a-cold");
      await agent(org, "b-warm", ["v2"]);

      const preview = await store.previewNextLeases({ orgId: org }, T0);
      expect(preview.map((p) => p.target)).toEqual(["emulator", "device", "browserstack"]);
      const emulator = preview.find((p) => p.target === "emulator")!;
      // The first idle agent by name is the one asked about.
      expect(emulator.agent).toEqual({ id: cold.id, name: "a-cold" });
      expect(emulator.decision).toMatchObject({ orgId: org, install: true });
      const queued = await store.listJobs(
        { org_id: org, status: "queued", limit: 10 },
        { orgId: org },
      );
      expect(queued.items).toHaveLength(5);

      const grant = await claim(cold.id);
      expect(grant.lease).toMatchObject({
        groupKey: emulator.decision!.groupKey,
        appVersionId: emulator.decision!.appVersionId,
        install: emulator.decision!.install,
      });
      expect(grant.jobs.map((j) => j.id)).toEqual(emulator.decision!.jobIds);
      expect(grant.reason).toBe(emulator.decision!.reason);

      // The leased agent is no longer idle: the next one is asked about, and wants its v2.
      const next = (await store.previewNextLeases({ orgId: org }, T0)).find(
        (p) => p.target === "emulator",
      )!;
      expect(next.agent?.name).toBe("b-warm");
      expect(next.decision).toMatchObject({ appVersionId: "v2", install: false });
      // Another org's caller sees neither these agents nor this org's groups.
      const foreign = await store.previewNextLeases({ orgId: newOrg() }, T0);
      expect(foreign.find((p) => p.target === "emulator")?.decision).toBeNull();
    });

    it("previews a new agent, with nothing installed, for a target with no idle agent", async () => {
      const org = newOrg();
      const { jobs } = await submit(org, {
        app_version_id: "v7",
        target: "browserstack",
        tests: ["bs.spec.ts"],
      });
      const view = (await store.previewNextLeases({ orgId: org }, T0)).find(
        (p) => p.target === "browserstack",
      )!;
      expect(view.agent).toBeNull();
      expect(view.decision).toMatchObject({
        orgId: org,
        appVersionId: "v7",
        install: true,
        jobIds: [jobs[0]!.id],
      });
      expect((await store.getJob(jobs[0]!.id, { orgId: org }))?.status).toBe("queued");
    });

    it("keeps one GitHub check row per run and target, and hands out the due ones", async () => {
      const org = newOrg();
      const { run } = await submit(org, {});
      const check = (target: Target) => ({
        installationId: 42,
        owner: "acme",
        repo: "app",
        sha: "abc123",
        name: `qgjob (${target})`,
        target,
        runId: run.id,
        orgId: org,
        testRoot: "e2e",
      });
      const added = await store.addGithubChecks([check("emulator"), check("device")], T0);
      expect(added).toHaveLength(2);
      expect(added[0]).toMatchObject({
        ...check("emulator"),
        checkRunId: null,
        sentStatus: null,
        sentDigest: null,
        annotationsSent: 0,
        finished: false,
        nextUpdateAt: T0,
        failures: 0,
        generation: 0,
        createdAt: T0,
      });
      // Adding again (a redelivered webhook) returns the rows already there.
      const again = await store.addGithubChecks([check("emulator")], T0 + 5 * SECOND);
      expect(again).toEqual([added[0]]);

      const ours = async (now: number, limit = 100) =>
        (await store.claimDueGithubChecks(now, limit, SECOND)).filter((c) => c.runId === run.id);
      expect(await ours(T0 - 1)).toEqual([]);
      expect((await ours(T0)).map((c) => c.id).sort()).toEqual(added.map((c) => c.id).sort());
      // Claimed rows are held for the given time: a second reporter gets nothing meanwhile.
      expect(await ours(T0)).toEqual([]);

      // GitHub's check run ids pass 2^31.
      const checkRunId = 30_000_000_001;
      const [emulator, device] = added as [(typeof added)[0], (typeof added)[0]];
      const sent = {
        checkRunId,
        sentStatus: "in_progress",
        sentDigest: "d1",
        annotationsSent: 50,
        nextUpdateAt: T0 + 10 * SECOND,
        failures: 2,
      };
      await store.updateGithubCheck(emulator, sent);
      await store.updateGithubCheck(device, { finished: true });
      expect(await store.findGithubCheck(42, checkRunId)).toEqual({ ...emulator, ...sent });
      expect(await store.findGithubCheck(43, checkRunId)).toBeNull();
      // Finished rows are never due; the others in order of their next update.
      expect(await ours(T0 + 5 * SECOND)).toEqual([]);
      expect((await ours(T0 + 10 * SECOND)).map((c) => c.id)).toEqual([emulator.id]);
    });

    it("keeps a re-run's restart of a GitHub check row over a reporter's write about the run before", async () => {
      const { run } = await submit(newOrg(), {});
      const [row] = await store.addGithubChecks(
        [
          {
            installationId: 44,
            owner: "acme",
            repo: "app",
            sha: "def456",
            name: "qgjob (emulator)",
            target: "emulator",
            runId: run.id,
            orgId: run.orgId,
            testRoot: "",
          },
        ],
        T0,
      );
      await store.updateGithubCheck(row!, { checkRunId: 9, sentStatus: "in_progress" });
      await store.restartGithubCheck(row!.id, {
        sentStatus: "creating",
        nextUpdateAt: T0 + SECOND,
      });
      // The reporter read the row before the re-run: its completion must not end the new one.
      await store.updateGithubCheck(row!, { sentStatus: "completed", finished: true });
      const [now] = await store.githubChecksOf({ runId: run.id });
      expect(now).toMatchObject({
        checkRunId: 9,
        sentStatus: "creating",
        finished: false,
        generation: 1,
      });
      await store.updateGithubCheck(now!, { sentStatus: "queued" });
      expect((await store.githubChecksOf({ runId: run.id }))[0]!.sentStatus).toBe("queued");
    });

    it("hands each due GitHub check row to one of several concurrent reporters", async () => {
      const org = newOrg();
      const rows = [];
      for (let i = 0; i < 2; i++) {
        const { run } = await submit(org, {});
        rows.push(
          ...(await store.addGithubChecks(
            TARGETS.map((target) => ({
              installationId: 7,
              owner: "acme",
              repo: "app",
              sha: "abc123",
              name: `qgjob (${target})`,
              target,
              runId: run.id,
              orgId: org,
              testRoot: "",
            })),
            T0,
          )),
        );
      }
      const mine = new Set(rows.map((r) => r.id));
      const claims = await Promise.all(
        Array.from({ length: 4 }, () => store.claimDueGithubChecks(T0, 100, 10 * SECOND)),
      );
      const taken = claims
        .flat()
        .filter((c) => mine.has(c.id))
        .map((c) => c.id);
      expect(taken.sort()).toEqual([...mine].sort());
    });

    it("records a webhook delivery once, hands it out to one claimer, and forgets it after a week", async () => {
      const id = `delivery-${randomBytes(5).toString("hex")}`;
      const delivery = (did: string) => ({ id: did, event: "push", payload: '{"ref":"x"}' });
      expect(await store.receiveGithubDelivery(delivery(id), T0)).toBe(true);
      expect(await store.receiveGithubDelivery(delivery(id), T0 + SECOND)).toBe(false);
      const concurrent = `delivery-${randomBytes(5).toString("hex")}`;
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => store.receiveGithubDelivery(delivery(concurrent), T0)),
      );
      expect(answers.filter(Boolean)).toHaveLength(1);

      // Due at once, held for one claimer, processed once.
      const claims = await Promise.all(
        Array.from({ length: 3 }, () => store.claimGithubDeliveries(T0, 100, 10 * SECOND)),
      );
      const taken = claims.flat().filter((d) => d.id === id);
      expect(taken).toHaveLength(1);
      expect(taken[0]).toMatchObject({ event: "push", payload: '{"ref":"x"}', attempts: 0 });
      expect(
        (await store.claimGithubDeliveries(T0 + SECOND, 100, SECOND)).map((d) => d.id),
      ).not.toContain(id);
      await store.updateGithubDelivery(id, { processedAt: T0 + SECOND, payload: null });
      expect(
        (await store.claimGithubDeliveries(T0 + 60 * SECOND, 100, SECOND)).map((d) => d.id),
      ).not.toContain(id);

      // One given up on is armed again by a redelivery.
      await store.updateGithubDelivery(concurrent, {
        processedAt: T0,
        error: "GitHub answered 403",
      });
      expect(await store.receiveGithubDelivery(delivery(concurrent), T0 + 2 * SECOND)).toBe(true);
      const again = (await store.claimGithubDeliveries(T0 + 2 * SECOND, 100, SECOND)).find(
        (d) => d.id === concurrent,
      );
      expect(again).toMatchObject({ attempts: 0, error: null, processedAt: null });

      // Receiving a later delivery sweeps out those older than a week.
      const later = `delivery-${randomBytes(5).toString("hex")}`;
      await store.receiveGithubDelivery(delivery(later), T0 + 8 * DAY);
      expect(await store.receiveGithubDelivery(delivery(id), T0 + 8 * DAY)).toBe(true);
      expect(await store.receiveGithubDelivery(delivery(later), T0 + 8 * DAY)).toBe(false);
    });
  });
}
