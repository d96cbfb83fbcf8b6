/**
 * Test history and quarantines, on every engine (store.test.ts runs it beside the Store
 * conformance suite): jobs are run through the real lease cycle, and the summary rows the
 * results leave are compared with numbers worked out by hand.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ListTestsQuery,
  ResultRequest,
  SubmitRunRequest,
  type ResultRequest as ResultBody,
  type SubmitRunRequest as SubmitBody,
} from "../../api/schemas.js";
import type { ResultStatus } from "../../api/status.js";
import { runStatus } from "../../app/store/rules.js";
import type { Store } from "../../app/store/store.js";
import { testStoreOptions, type Engine, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 1, 12);
const MINUTE = 60_000;
const DAY = 86_400_000;

/** One try of a job: its status and reported duration. */
type Try = [ResultStatus, number];

/** Runs one test through submit, claim, start and result for each try; answers the job. */
async function runTest(
  store: Store,
  org: string,
  agentId: string,
  tries: Try[],
  now: number,
  body: Partial<SubmitBody> = {},
) {
  // Every try but the last is retried: a test failure by `retries`, an error by `max_attempts`.
  const earlier = tries.slice(0, -1);
  const failures = earlier.filter(([s]) => s === "failed" || s === "timed_out").length;
  const errors = earlier.filter(([s]) => s === "error").length;
  await store.submitRun(
    SubmitRunRequest.parse({
      org_id: org,
      app_version_id: "v1",
      tests: ["tests/login.spec.ts"],
      retries: failures,
      max_attempts: errors + 1,
      ...body,
    }),
    {},
    now,
  );
  let grant = await store.claimLease(agentId, now);
  if (!grant) throw new Error("expected a lease");
  let job = grant.jobs[0]!;
  let attempt = job.attempts;
  for (const [status, durationMs] of tries) {
    await store.startJob(grant.lease.id, job.id, attempt, now);
    const outcome = await store.reportResult(
      grant.lease.id,
      job.id,
      ResultRequest.parse({
        attempt,
        status,
        duration_ms: durationMs,
        message: status === "passed" ? undefined : `${status} at try ${attempt}`,
      } satisfies ResultBody),
      now,
    );
    job = outcome.job;
    attempt = job.attempts;
    if (outcome.requeued) {
      // An infrastructure error sends the job elsewhere first: the same agent takes it later.
      now += 2 * MINUTE;
      grant = (await store.claimLease(agentId, now))!;
      job = grant.jobs[0]!;
      attempt = job.attempts;
    }
  }
  return job;
}

export function historyConformance(engine: Engine) {
  describe(`Test history: ${engine.name}`, () => {
    let opened: OpenedStore;
    let ruled: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
      const options = testStoreOptions();
      ruled = await engine.open({
        ...options,
        quarantineRule: { flakeRate: 0.5, window: 3, durationMs: 7 * DAY },
      });
    }, 120_000);
    afterAll(async () => {
      await opened?.dispose();
      await ruled?.dispose();
    });

    const newOrg = () => `org-${randomBytes(5).toString("hex")}`;
    const agentOf = async (s: Store, org: string) =>
      (
        await s.registerAgent(
          { name: "pixel", target: "emulator", device: null, labels: [], installed: [] },
          { orgId: org },
          T0,
        )
      ).id;
    const list = (
      s: Store,
      query: Partial<Record<string, string>>,
      scope: string | null,
      now = T0,
    ) => s.listTests(ListTestsQuery.parse(query), { orgId: scope }, now);

    it("keeps counts, rates, percentiles and last runs as worked out by hand", async () => {
      const org = newOrg();
      const agent = await agentOf(store, org);
      const repo = { repo: "acme/app" };
      const at = (i: number) => T0 + i * 10 * MINUTE;
      const jobs = [
        await runTest(store, org, agent, [["passed", 1000]], at(0), repo),
        await runTest(store, org, agent, [["failed", 3000]], at(1), repo),
        await runTest(
          store,
          org,
          agent,
          [
            ["failed", 2000],
            ["passed", 1500],
          ],
          at(2),
          repo,
        ),
        await runTest(store, org, agent, [["error", 500]], at(3), repo),
        await runTest(store, org, agent, [["passed", 2000]], at(4), repo),
        await runTest(store, org, agent, [["passed", 4000]], at(5), repo),
      ];
      expect(jobs.map((j) => [j.status, j.flaky])).toEqual([
        ["passed", false],
        ["failed", false],
        ["passed", true],
        ["error", false],
        ["passed", false],
        ["passed", false],
      ]);
      const { items } = await list(store, {}, org);
      expect(items).toHaveLength(1);
      const test = items[0]!;
      // 6 runs: p f k e p p. Rates leave the error out: 1 flaky and 1 failed of 5 judged runs.
      // Durations (errors left out): 1000 3000 1500 2000 4000; nearest rank: p50 the 3rd of
      // the sorted five (2000), p95 the 5th (4000). Fewer than 20 samples: no change measured.
      expect(test).toMatchObject({
        orgId: org,
        repo: "acme/app",
        testPath: "tests/login.spec.ts",
        target: "emulator",
        runs: 6,
        passed: 3,
        failed: 1,
        flaky: 1,
        errors: 1,
        recent: "pfkepp",
        flakeRate: 0.2,
        failureRate: 0.2,
        p50Ms: 2000,
        p95Ms: 4000,
        durationChangeMs: 0,
        firstSeenAt: at(0),
        lastRunAt: at(5),
        lastPassedAt: at(5),
        lastFailedAt: at(1),
        quarantine: null,
      });
      expect(test.recentRuns.map((r) => [r.jobId, r.outcome])).toEqual(
        [...jobs]
          .reverse()
          .map((j, i) => [j.id, ["passed", "passed", "error", "flaky", "failed", "passed"][i]]),
      );
      expect(test.lastFailures).toEqual([
        expect.objectContaining({
          jobId: jobs[1]!.id,
          runId: jobs[1]!.runId,
          message: "failed at try 1",
        }),
      ]);
      expect(await store.getTest(test.id, { orgId: org }, T0)).toEqual(test);
      expect(await store.getTest(test.id, { orgId: newOrg() }, T0)).toBeNull();
    });

    it("keeps a row per repository and target, sorts highest first and pages by cursor", async () => {
      const org = newOrg();
      const agent = await agentOf(store, org);
      // Three tests: flake rates 1/2, 0 and 1/3; p95 2000, 5000 and 3000.
      await runTest(store, org, agent, [["passed", 1000]], T0, { tests: ["a.spec.ts"] });
      await runTest(
        store,
        org,
        agent,
        [
          ["failed", 1],
          ["passed", 2000],
        ],
        T0 + MINUTE,
        { tests: ["a.spec.ts"] },
      );
      await runTest(store, org, agent, [["passed", 5000]], T0 + 2 * MINUTE, {
        tests: ["b.spec.ts"],
      });
      for (let i = 0; i < 2; i++) {
        await runTest(store, org, agent, [["passed", 3000]], T0 + (3 + i) * MINUTE, {
          tests: ["c.spec.ts"],
        });
      }
      await runTest(
        store,
        org,
        agent,
        [
          ["failed", 1],
          ["passed", 1000],
        ],
        T0 + 5 * MINUTE,
        { tests: ["c.spec.ts"] },
      );
      await runTest(store, org, agent, [["passed", 1000]], T0 + 6 * MINUTE, {
        tests: ["a.spec.ts"],
        repo: "acme/other",
      });

      const paths = async (query: Partial<Record<string, string>>) => {
        const out: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await list(
            store,
            { ...query, limit: "1", ...(cursor ? { cursor } : {}) },
            org,
          );
          out.push(...page.items.map((t) => `${t.testPath}${t.repo ? `@${t.repo}` : ""}`));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return out;
      };
      expect(await paths({ sort: "flake_rate" })).toEqual([
        "a.spec.ts",
        "c.spec.ts",
        "a.spec.ts@acme/other",
        "b.spec.ts",
      ]);
      expect((await paths({ sort: "duration" })).slice(0, 2)).toEqual(["b.spec.ts", "c.spec.ts"]);
      expect(await paths({ flaky: "true", sort: "flake_rate" })).toEqual([
        "a.spec.ts",
        "c.spec.ts",
      ]);
      expect(await paths({ repo: "acme/other" })).toEqual(["a.spec.ts@acme/other"]);
      expect(await paths({ path: "b.spec" })).toEqual(["b.spec.ts"]);
      expect((await list(store, {}, newOrg())).items).toEqual([]);
      expect((await list(store, { org_id: org }, null)).items).toHaveLength(4);
    });

    it("marks a job quarantined as it finished, and the quarantine ends by itself", async () => {
      const org = newOrg();
      const agent = await agentOf(store, org);
      const expiresAt = T0 + DAY;
      await store.quarantineTest({
        orgId: org,
        testPath: "tests/login.spec.ts",
        reason: "known flaky login",
        owner: "qa-team",
        automatic: false,
        createdAt: T0,
        expiresAt,
      });
      const during = await runTest(store, org, agent, [["failed", 1000]], T0 + MINUTE);
      expect(during).toMatchObject({ status: "failed", quarantinedUntil: expiresAt });
      const [view] = (await list(store, { quarantined: "true" }, org, T0 + MINUTE)).items;
      expect(view?.quarantine).toMatchObject({
        reason: "known flaky login",
        owner: "qa-team",
        expiresAt,
      });
      expect(view?.recentRuns[0]).toMatchObject({ jobId: during.id, quarantinedUntil: expiresAt });
      expect(await store.listQuarantines({ orgId: org }, T0 + MINUTE)).toHaveLength(1);

      // The quarantined failure fails no run: its run's verdict is passed.
      const verdict = async (runId: string) => {
        const run = await store.getRunView(runId, { orgId: org });
        return { status: runStatus(run!.counts), quarantined: run!.counts.quarantined };
      };
      expect(await verdict(during.runId)).toEqual({ status: "passed", quarantined: 1 });

      // Expired: the same failure fails its run again, and the first run's verdict stays.
      const after = await runTest(store, org, agent, [["failed", 1000]], expiresAt + MINUTE);
      expect(after.quarantinedUntil).toBeNull();
      expect(await verdict(after.runId)).toEqual({ status: "failed", quarantined: 0 });
      expect(await verdict(during.runId)).toEqual({ status: "passed", quarantined: 1 });
      expect((await store.getJob(during.id, { orgId: org }))?.quarantinedUntil).toBe(expiresAt);
      expect(await store.listQuarantines({ orgId: org }, expiresAt)).toEqual([]);
      expect((await store.getTest(view!.id, { orgId: org }, expiresAt))?.quarantine).toBeNull();
    });

    it("ends a quarantine on request, once", async () => {
      const org = newOrg();
      await store.quarantineTest({
        orgId: org,
        testPath: "x.spec.ts",
        reason: "r",
        owner: null,
        automatic: false,
        createdAt: T0,
        expiresAt: T0 + DAY,
      });
      expect(await store.unquarantineTest(org, "x.spec.ts", T0 + 1)).toBe(true);
      expect(await store.unquarantineTest(org, "x.spec.ts", T0 + 2)).toBe(false);
      expect(await store.listQuarantines({ orgId: org }, T0 + 3)).toEqual([]);
    });

    it("hands a lease's previously failed and never-seen tests first", async () => {
      const org = newOrg();
      const agent = await agentOf(store, org);
      const one = (path: string, tries: Try[], at: number) =>
        runTest(store, org, agent, tries, at, { tests: [path] });
      await one("a.spec.ts", [["passed", 1000]], T0);
      await one("b.spec.ts", [["failed", 1000]], T0 + MINUTE);
      await one("d.spec.ts", [["passed", 1000]], T0 + 2 * MINUTE);
      await one(
        "e.spec.ts",
        [
          ["failed", 1],
          ["passed", 1000],
        ],
        T0 + 3 * MINUTE,
      );
      await store.submitRun(
        SubmitRunRequest.parse({
          org_id: org,
          app_version_id: "v1",
          tests: ["a.spec.ts", "b.spec.ts", "c.spec.ts", "d.spec.ts", "e.spec.ts"],
        }),
        {},
        T0 + 10 * MINUTE,
      );
      const grant = await store.claimLease(agent, T0 + 10 * MINUTE);
      const order = grant!.jobs.map((j) => j.testPath);
      expect(order).toHaveLength(5);
      // Failed last time (b), flaky last time (e), never seen (c); then the passes.
      expect(new Set(order.slice(0, 3))).toEqual(new Set(["b.spec.ts", "c.spec.ts", "e.spec.ts"]));
      expect(new Set(order.slice(3))).toEqual(new Set(["a.spec.ts", "d.spec.ts"]));
    });

    it("the automatic rule quarantines a test at its N-th flaky run, and not before", async () => {
      const s = ruled.store;
      const org = newOrg();
      const agent = await agentOf(s, org);
      const flaky: Try[] = [
        ["failed", 1],
        ["passed", 1000],
      ];
      const first = await runTest(s, org, agent, flaky, T0);
      await runTest(s, org, agent, flaky, T0 + MINUTE);
      expect(await s.listQuarantines({ orgId: org }, T0 + MINUTE)).toEqual([]);
      await runTest(s, org, agent, flaky, T0 + 2 * MINUTE);
      const [rule] = await s.listQuarantines({ orgId: org }, T0 + 2 * MINUTE);
      expect(rule).toMatchObject({
        testPath: "tests/login.spec.ts",
        automatic: true,
        expiresAt: T0 + 2 * MINUTE + 7 * DAY,
        reason: "flake rate 100% over the last 3 runs (on emulator)",
      });
      expect(first.quarantinedUntil).toBeNull();
      // The next run is quarantined while it runs; the default store has no rule.
      const next = await runTest(s, org, agent, [["failed", 1]], T0 + 3 * MINUTE);
      expect(next.quarantinedUntil).toBe(rule!.expiresAt);
      const plain = newOrg();
      const plainAgent = await agentOf(store, plain);
      for (let i = 0; i < 4; i++) await runTest(store, plain, plainAgent, flaky, T0 + i * MINUTE);
      expect(await store.listQuarantines({ orgId: plain }, T0 + 5 * MINUTE)).toEqual([]);
    });
  });
}
