import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/harness.js";
import { SubmitRunRequest, type SubmitRunRequest as Submit } from "../../../api/schemas.js";
import { loadConfig, storeOptions } from "../../config.js";
import { SqliteStore } from "./engine.js";

const NOW = Date.UTC(2026, 0, 1);

/** What the queue summaries must always equal: the queued jobs by group, device and priority. */
const FROM_JOBS = `
  select group_key, coalesce('=' || device, '-') as device_key, priority,
         count(*) as queued, min(queued_at) as oldest_queued_at
  from jobs where status = 'queued'
  group by 1, 2, 3 order by 1, 2, 3`;
const PARTITIONS = `
  select group_key, device_key, priority, queued, oldest_queued_at
  from queue_partitions order by 1, 2, 3`;
const GROUPS_FROM_JOBS = `
  select group_key, coalesce('=' || device, '-') as device_key, target, org_id, app_version_id,
         max(priority) as priority, min(queued_at) as oldest_queued_at
  from jobs where status = 'queued'
  group by 1, 2 order by 1, 2`;
const GROUPS = `
  select group_key, device_key, target, org_id, app_version_id, priority, oldest_queued_at
  from queue_groups order by 1, 2`;

let store: SqliteStore | undefined;
afterEach(async () => store?.close());

describe("queue_partitions and queue_groups, the queue summaries the claim ranks groups from", () => {
  it("matches the queued jobs after submit, claim, requeue, release and cancel", async () => {
    const path = join(tempDir(), "q.db");
    store = new SqliteStore(path, storeOptions(loadConfig({}, {})));
    const raw = new Database(path, { readonly: true });
    const same = () => {
      expect(raw.prepare(PARTITIONS).all()).toEqual(raw.prepare(FROM_JOBS).all());
      expect(raw.prepare(GROUPS).all()).toEqual(raw.prepare(GROUPS_FROM_JOBS).all());
    };
    const submit = (body: Partial<Submit>, at: number) =>
      store!.submitRun(
        SubmitRunRequest.parse({ org_id: "acme", app_version_id: "v1", tests: ["a"], ...body }),
        {},
        at,
      );

    await submit({ tests: ["a", "b", "c"] }, NOW);
    await submit({ tests: ["d"], device: "Pixel 7", repo: "acme/app" }, NOW + 1);
    await submit({ tests: ["e"], repo: "", priority: 3 }, NOW + 2);
    await submit(
      { app_version_id: "v2", tests: ["f", "g"], tags: ["@smoke"], priority: 9 },
      NOW + 3,
    );
    const cancelled = await submit({ app_version_id: "v3", tests: ["h"] }, NOW + 4);
    same();
    // One group per app version (the default strategy), split by device key and priority.
    expect(raw.prepare("select count(*) as n from queue_partitions").get()).toEqual({ n: 5 });
    expect(raw.prepare("select count(*) as n from queue_groups").get()).toEqual({ n: 4 });

    const agent = await store.registerAgent(
      { name: "a1", target: "emulator", device: null, labels: [], installed: [] },
      { orgId: null },
      NOW + 10,
    );
    const grant = (await store.claimLease(agent.id, NOW + 10))!;
    expect(grant.jobs.map((j) => j.testPath)).toEqual(["f", "g"]);
    same();
    await store.releaseLease(grant.lease.id, NOW + 11);
    same();

    await store.cancelRun(cancelled.run.id, { orgId: null }, NOW + 11);
    same();
    const second = (await store.claimLease(agent.id, NOW + 12))!;
    const [first, ...rest] = second.jobs;
    await store.startJob(second.lease.id, first!.id, first!.attempts, NOW + 13);
    // An infrastructure error puts the job back in the queue, with its first queued_at.
    await store.reportResult(
      second.lease.id,
      first!.id,
      { attempt: first!.attempts, status: "error", duration_ms: 5, artifacts: [] },
      NOW + 14,
    );
    same();
    expect(rest.length).toBeGreaterThan(0);
    await store.releaseLease(second.lease.id, NOW + 15);
    same();
    // Every job but the cancelled h is queued again.
    expect(raw.prepare("select sum(queued) as n from queue_partitions").get()).toEqual({ n: 7 });
    raw.close();
  });
});

describe("submitting a run", () => {
  it("answers with exactly the run and jobs a later read returns", async () => {
    store = new SqliteStore(join(tempDir(), "s.db"), storeOptions(loadConfig({}, {})));
    for (const body of [
      { org_id: "acme", app_version_id: "v1", tests: ["a", "b"] },
      {
        org_id: "acme",
        app_version_id: "v2",
        tests: ["c"],
        target: "browserstack",
        device: "Pixel 7",
        repo: "acme/app",
        sha: "abc",
        ref: "main",
        source: "action",
        tags: ["@smoke"],
        priority: 7,
        retries: 1,
        max_attempts: 2,
        timeout_s: 60,
      },
    ] satisfies Submit[]) {
      const submitted = await store.submitRun(SubmitRunRequest.parse(body), {}, NOW);
      const { jobs, ...run } = (await store.getRun(submitted.run.id, { orgId: null }))!;
      expect(submitted.run).toEqual(run);
      expect(submitted.jobs).toEqual(jobs);
    }
  });
});
