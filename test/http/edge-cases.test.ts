/**
 * Edges of the server's rules that once broke: a finished job started again, a group too big
 * for a spread call, and idle agents of another org splitting a group they cannot take.
 */
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  submit,
  type TestServer,
} from "../harness.js";

let server: TestServer;
afterEach(async () => server?.close());

async function setup(config: Parameters<typeof startTestServer>[0] = {}) {
  server = await startTestServer(config);
  return client(server.url);
}

async function orgClient(orgId: string) {
  const { token } = await issueToken(
    server.store,
    { orgId, scopes: ["admin"], name: orgId },
    Date.now(),
  );
  return client(server.url, token);
}

describe("terminal states never change", () => {
  it("refuses to start a job that already passed while its lease is still live", async () => {
    const api = await setup();
    // Two jobs, so the lease stays live after the first one ends.
    const run = await submit(api, { tests: ["a.spec.js", "b.spec.js"] });
    expectStatus(run, 201);
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!;
    const done = await finishJob(api, lease.body.id, job, "passed");
    expect(bodyOf(done)).toMatchObject({ job: { status: "passed" } });

    // A retried or confused agent posts `start` again for the attempt it already reported.
    const restart = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/start`, {
      attempt: 1,
    });
    expect(restart.status).toBe(409);
    expect(bodyOf(await api.get(`/api/v1/jobs/${job.id}`)).status).toBe("passed");

    // ...and can then overwrite the recorded pass with a failure.
    const overwrite = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/result`, {
      attempt: 1,
      status: "failed",
      duration_ms: 5,
    });
    expect(overwrite.status).toBe(409);
    expect((await api.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({
      status: "passed",
      result: { message: null },
    });
    expect(bodyOf(await api.get(`/api/v1/runs/${run.body.id}`)).counts).toMatchObject({
      passed: 1,
      failed: 0,
      running: 0,
    });
  });
});

describe("reachable inputs never answer 500", () => {
  it("leases from, and shows, a group of more queued jobs than a spread call can take", async () => {
    const api = await setup();
    // 30 submissions of 5000 tests reach this state over HTTP (measured: about 15 s); the rows are
    // seeded directly here to keep the test fast. They copy the job the API stored.
    const run = await submit(api, { tests: ["seed.spec.js"] });
    expectStatus(run, 201);
    const db = new Database(server.db);
    try {
      db.prepare(
        `insert into jobs (id, run_id, org_id, app_version_id, target, device, repo, test_path,
           tags, priority, status, flaky, attempts, max_attempts, retries, test_failures,
           timeout_s, queued_at, created_at)
         with recursive n(i) as (select 1 union all select i + 1 from n where i < 150000)
         select 'job_' || substr('0000000000000000000000000' || n.i, -26), j.run_id, j.org_id,
           j.app_version_id, j.target, j.device, j.repo, 'tests/' || n.i || '.spec.js', j.tags,
           j.priority, j.status, j.flaky, j.attempts, j.max_attempts, j.retries,
           j.test_failures, j.timeout_s, j.queued_at, j.created_at
         from n, jobs j where j.id = ?`,
      ).run(run.body.jobs[0]!.id);
    } finally {
      db.close();
    }

    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    expect(lease.body.jobs.length).toBeGreaterThan(0);
    const queue = await api.get("/api/v1/queue");
    expect(queue.status, JSON.stringify(queue.body)).toBe(200);
  }, 60_000);
});

describe("scheduler inputs", () => {
  it("does not split an org's group for idle agents of another org that can never take it", async () => {
    await setup();
    const acme = await orgClient("acme");
    const globex = await orgClient("globex");
    for (let i = 0; i < 4; i++) await registerAgent(globex, `globex-${i}`);
    const agent = await registerAgent(acme, "acme-0");
    // 20 tests x 60 s (default estimate): big enough to split, but only acme-0 can run them.
    const tests = Array.from({ length: 20 }, (_, i) => `tests/${i}.spec.js`);
    expect((await submit(acme, { org_id: "acme", tests })).status).toBe(201);

    const lease = await acme.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    // With one agent able to run the group it stays whole: one install, one AppWright invocation.
    expect(lease.body.jobs).toHaveLength(20);
  });
});
