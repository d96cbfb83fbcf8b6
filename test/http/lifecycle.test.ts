/**
 * A job's life over real HTTP and a real SQLite file: submit, lease, run, report, and every
 * way that can go wrong on the agent's side (lost, stale, retried, cancelled, released).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  agentKeyHeaderOf,
  client,
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
  return client<"untyped">(server.url);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("submit, lease, result, status", () => {
  it("runs a submitted run to passed and reports it on the run and each job", async () => {
    const api = await setup();
    const tests = ["tests/onboarding.spec.js", "tests/login.spec.js", "tests/checkout.spec.js"];
    const run = await submit(api, { tests });
    expect(run.body.jobs.map((j: any) => j.test_path)).toEqual(tests); // in submission order
    expect(run.status).toBe(201);
    expect(run.body.status).toBe("queued");
    expect(run.body.counts).toMatchObject({ total: 3, queued: 3 });

    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expect(lease.status).toBe(200);
    expect(lease.body).toMatchObject({ app_version_id: "xyz123", install: true });
    expect(lease.body.jobs).toHaveLength(3);

    for (const job of lease.body.jobs) {
      const res = await finishJob(api, lease.body.id, job, "passed", { duration_ms: 4200 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ retry: false, job: { status: "passed" } });
    }
    const done = await api.get(`/api/v1/runs/${run.body.id}`);
    expect(done.body.status).toBe("passed");
    expect(done.body.counts).toMatchObject({ total: 3, passed: 3, queued: 0 });
    expect(done.body.finished_at).not.toBeNull();
    const job = await api.get(`/api/v1/jobs/${run.body.jobs[0].id}`);
    expect(job.body).toMatchObject({
      status: "passed",
      duration_ms: 4200,
      attempts: 1,
      agent_id: agent,
    });

    // The finished lease ended by itself; releasing it anyway is harmless.
    expect((await api.post(`/api/v1/leases/${lease.body.id}/release`)).body).toEqual({
      requeued: 0,
    });
    // The agent may ask again, and nothing is left. With no body and no token it must say the
    // request is JSON: a web page could send a bodyless POST to an open-mode server.
    expect((await api.call("POST", `/api/v1/agents/${agent}/lease`)).status).toBe(415);
    expect((await api.post(`/api/v1/agents/${agent}/lease`, {})).status).toBe(204);
  });

  it("answers a run's long-poll wait as soon as its last job ends", async () => {
    const api = await setup();
    const run = await submit(api, { tests: ["tests/a.spec.js"] });
    const waiting = api.get(`/api/v1/runs/${run.body.id}/wait?timeout_s=20`);
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const t0 = Date.now();
    await finishJob(api, lease.body.id, lease.body.jobs[0], "failed", {
      message: "expected 1 to be 2",
    });
    const waited = await waiting;
    expect(waited.body.status).toBe("failed");
    expect(waited.body.jobs[0].result.message).toBe("expected 1 to be 2");
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("holds an idle agent's lease request until work arrives, and answers 204 when none does", async () => {
    const api = await setup();
    const agent = await registerAgent(api, "pixel-7");
    const t0 = Date.now();
    expect((await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 1 })).status).toBe(204);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950); // it held the request, not answered at once

    const asking = api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 20 });
    await sleep(200);
    const run = await submit(api, { tests: ["tests/a.spec.js"] });
    const lease = await asking;
    expect(lease.status).toBe(200);
    expect(lease.body.jobs[0].id).toBe(run.body.jobs[0].id);
  });
});

describe("long polls", () => {
  it("gives no work to a lease request whose client has gone away", async () => {
    const api = await setup();
    const agent = await registerAgent(api, "gone");
    const leaving = new AbortController();
    const asking = fetch(`${server.url}/api/v1/agents/${agent}/lease`, {
      method: "POST",
      headers: { "content-type": "application/json", ...agentKeyHeaderOf(agent) },
      body: JSON.stringify({ wait_s: 20 }),
      signal: leaving.signal,
    }).catch(() => "aborted");
    await sleep(300);
    leaving.abort();
    expect(await asking).toBe("aborted");
    await sleep(200);
    const run = await submit(api, { tests: ["a.spec.js"] });
    await sleep(500);
    expect((await api.get(`/api/v1/jobs/${run.body.jobs[0].id}`)).body.status).toBe("queued");
    expect((await api.get(`/api/v1/agents/${agent}`)).body.lease_id).toBeNull();
  });
});

describe("grouping and affinity", () => {
  it("gives two agents with different installed versions each their own group, without installs", async () => {
    const api = await setup();
    const older = await submit(api, {
      app_version_id: "v1",
      tests: ["a.spec.js", "b.spec.js", "c.spec.js"],
    });
    await sleep(5);
    const newer = await submit(api, {
      app_version_id: "v2",
      tests: ["a.spec.js", "b.spec.js", "c.spec.js"],
    });
    const onV2 = await registerAgent(api, "device-v2", { installed: ["v2"] });
    const onV1 = await registerAgent(api, "device-v1", { installed: ["v1"] });

    const first = await api.post(`/api/v1/agents/${onV2}/lease`, {});
    const second = await api.post(`/api/v1/agents/${onV1}/lease`, {});
    expect(first.body).toMatchObject({ app_version_id: "v2", install: false });
    expect(second.body).toMatchObject({ app_version_id: "v1", install: false });
    expect(first.body.jobs.map((j: any) => j.id).sort()).toEqual(
      newer.body.jobs.map((j: any) => j.id).sort(),
    );
    expect(second.body.jobs.map((j: any) => j.id).sort()).toEqual(
      older.body.jobs.map((j: any) => j.id).sort(),
    );
  });

  it.each([
    {
      grouping: "app_version_tags",
      field: { tags: ["@smoke"] },
      other: { tags: [] },
      otherKey: "qualgent|xyz123|emulator|*",
    },
    {
      grouping: "app_version_repo",
      field: { repo: "acme/web" },
      other: { repo: "acme/api" },
      otherKey: "qualgent|xyz123|emulator|acme/api",
    },
  ])(
    "with QGJOB_GROUPING=$grouping, leases one build's jobs in separate groups",
    async ({ grouping, field, other, otherKey }) => {
      const api = await setup({ grouping });
      const first = await submit(api, { tests: ["a.spec.js", "b.spec.js"], ...field });
      await sleep(5);
      await submit(api, { tests: ["c.spec.js", "d.spec.js"], ...other });
      const agent = await registerAgent(api, "pixel-7");
      const ids = (res: { body: { jobs: { id: string }[] } }) => res.body.jobs.map((j) => j.id);

      const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
      expect(ids(lease).sort()).toEqual(ids(first).sort());
      const queue = await api.get("/api/v1/queue");
      // The other half of the build is still one queued group, of its own key.
      expect(queue.body.groups).toEqual([
        expect.objectContaining({ key: otherKey, app_version_id: "xyz123", queued: 2 }),
      ]);
    },
  );

  it("remembers what a device installed: its next lease of that version needs no install", async () => {
    const api = await setup();
    const agent = await registerAgent(api, "pixel-7");
    await submit(api, { app_version_id: "v9", tests: ["a.spec.js"] });
    const first = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expect(first.body.install).toBe(true);
    await finishJob(api, first.body.id, first.body.jobs[0]);
    await submit(api, { app_version_id: "v9", tests: ["b.spec.js"] });
    const second = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expect(second.body.install).toBe(false);
    expect((await api.get(`/api/v1/agents/${agent}`)).body.installed).toEqual(["v9"]);
  });
});

describe("lease fencing and recovery", () => {
  it("requeues an expired lease's job, refuses the stale agent, and lets another agent finish it", async () => {
    const api = await setup({ leaseTtlS: 0.4, reapIntervalS: 0.1 });
    const run = await submit(api, { tests: ["tests/a.spec.js"] });
    const jobId = run.body.jobs[0].id;
    const stale = await registerAgent(api, "frozen");
    const lease = await api.post(`/api/v1/agents/${stale}/lease`, {});
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${jobId}/start`, { attempt: 1 });

    await sleep(1000); // no heartbeat: the lease expires and the reaper settles it
    const requeued = await api.get(`/api/v1/jobs/${jobId}`);
    expect(requeued.body).toMatchObject({ status: "queued", attempts: 1, lease_id: null });

    const late = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${jobId}/result`, {
      attempt: 1,
      status: "passed",
      duration_ms: 10,
    });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("stale_lease");
    const beat = await api.post(`/api/v1/agents/${stale}/heartbeat`, { lease_id: lease.body.id });
    expect(beat.status).toBe(409);
    expect(beat.body.error.code).toBe("lease_lost");
    // Refused, but heard: the agent is alive (idle), not lost.
    expect((await api.get(`/api/v1/agents/${stale}`)).body.state).toBe("idle");
    expect((await api.get(`/api/v1/jobs/${jobId}`)).body).toMatchObject({
      status: "queued",
      attempts: 1,
    });

    const healthy = await registerAgent(api, "healthy");
    const retry = await api.post(`/api/v1/agents/${healthy}/lease`, {});
    expect(retry.body.jobs[0]).toMatchObject({ id: jobId, attempt: 2 });
    await finishJob(api, retry.body.id, retry.body.jobs[0]);
    expect((await api.get(`/api/v1/jobs/${jobId}`)).body).toMatchObject({
      status: "passed",
      attempts: 2,
    });
  });

  it("keeps a heartbeating agent's lease alive past its TTL", async () => {
    const api = await setup({ leaseTtlS: 1, reapIntervalS: 0.1 });
    await submit(api, { tests: ["tests/slow.spec.js"] });
    const agent = await registerAgent(api, "steady");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const job = lease.body.jobs[0];
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/start`, { attempt: 1 });
    for (let i = 0; i < 8; i++) {
      await sleep(250); // 2 s in all: twice the TTL, with 750 ms of slack per beat
      const beat = await api.post(`/api/v1/agents/${agent}/heartbeat`, { lease_id: lease.body.id });
      expect(beat.status).toBe(200);
    }
    const res = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/result`, {
      attempt: 1,
      status: "passed",
      duration_ms: 1000,
    });
    expect(res.status).toBe(200);
  });

  it("accepts the same result twice and refuses a different one", async () => {
    const api = await setup();
    await submit(api, { tests: ["tests/a.spec.js"] });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const job = lease.body.jobs[0];
    const path = `/api/v1/leases/${lease.body.id}/jobs/${job.id}/result`;
    const body = {
      attempt: 1,
      status: "failed",
      duration_ms: 321,
      message: "boom",
      file: "tests/a.spec.js",
      line: 7,
    };
    const first = await api.post(path, body);
    const again = await api.post(path, body);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body.job).toEqual(first.body.job);
    const other = await api.post(path, { ...body, status: "passed" });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("result_conflict");
    expect((await api.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({
      status: "failed",
      result: { message: "boom", file: "tests/a.spec.js", line: 7 },
    });
  });

  it("retries an infrastructure error on another agent, and ends it as error after max_attempts", async () => {
    const api = await setup();
    const run = await submit(api, { tests: ["tests/a.spec.js"], max_attempts: 2 });
    const jobId = run.body.jobs[0].id;
    const a = await registerAgent(api, "a");
    const b = await registerAgent(api, "b");

    const first = await api.post(`/api/v1/agents/${a}/lease`, {});
    const failed = await finishJob(api, first.body.id, first.body.jobs[0], "error", {
      message: "install failed",
    });
    expect(failed.body.job).toMatchObject({ status: "queued", attempts: 1 });
    // The agent that failed it is passed over while another can take it.
    expect((await api.post(`/api/v1/agents/${a}/lease`, {})).status).toBe(204);
    const second = await api.post(`/api/v1/agents/${b}/lease`, {});
    expect(second.body.jobs[0]).toMatchObject({ id: jobId, attempt: 2 });
    const last = await finishJob(api, second.body.id, second.body.jobs[0], "error", {
      message: "adb offline",
    });
    expect(last.body.job).toMatchObject({
      status: "error",
      attempts: 2,
      result: { message: "adb offline" },
    });
    expect((await api.get(`/api/v1/runs/${run.body.id}`)).body.status).toBe("failed");
  });

  it("retries a failed test on the same device in the same lease when asked, and marks a later pass flaky", async () => {
    const api = await setup();
    const run = await submit(api, { tests: ["tests/flaky.spec.js"], retries: 1 });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const job = lease.body.jobs[0];
    const failed = await finishJob(api, lease.body.id, job, "failed");
    expect(failed.body).toMatchObject({ retry: true, job: { status: "leased", attempts: 2 } });
    const passed = await finishJob(api, lease.body.id, { id: job.id, attempt: 2 }, "passed");
    expect(passed.body).toMatchObject({
      retry: false,
      job: { status: "passed", flaky: true, attempts: 2 },
    });
    const view = await api.get(`/api/v1/runs/${run.body.id}`);
    expect(view.body).toMatchObject({ status: "passed", counts: { passed: 1, flaky: 1 } });
  });

  it("gives back a released lease's unstarted jobs at no cost; the started one counts as interrupted", async () => {
    const api = await setup();
    await submit(api, { tests: ["a.spec.js", "b.spec.js", "c.spec.js"] });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const [started, ...unstarted] = lease.body.jobs;
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${started.id}/start`, { attempt: 1 });
    const released = await api.post(`/api/v1/leases/${lease.body.id}/release`);
    expect(released.body).toEqual({ requeued: 3 });
    for (const job of unstarted) {
      expect((await api.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({
        status: "queued",
        attempts: 0,
      });
    }
    expect((await api.get(`/api/v1/jobs/${started.id}`)).body).toMatchObject({
      status: "queued",
      attempts: 1,
    });
    expect((await api.get("/metrics")).body).toContain("qgjob_jobs_released_total 3");
  });

  it("settles the old lease when an agent registers again under its name after a restart", async () => {
    const api = await setup();
    const run = await submit(api, { tests: ["a.spec.js"] });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${lease.body.jobs[0].id}/start`, {
      attempt: 1,
    });
    expect(await registerAgent(api, "pixel-7")).toBe(agent);
    expect((await api.get(`/api/v1/jobs/${run.body.jobs[0].id}`)).body.status).toBe("queued");
    expect((await api.get(`/api/v1/agents/${agent}`)).body).toMatchObject({
      state: "idle",
      lease_id: null,
    });
  });
});

describe("cancel", () => {
  it("ends queued jobs at once and tells the agent running a leased one on its next heartbeat", async () => {
    const api = await setup();
    const running = await submit(api, { tests: ["a.spec.js"] });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const job = lease.body.jobs[0];
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/start`, { attempt: 1 });
    const queued = await submit(api, { app_version_id: "other", tests: ["b.spec.js"] });

    const single = await api.post(`/api/v1/jobs/${queued.body.jobs[0].id}/cancel`);
    expect(single.body.status).toBe("cancelled");
    const run = await api.post(`/api/v1/runs/${running.body.id}/cancel`);
    expect(run.body).toMatchObject({ status: "cancelled", counts: { cancelled: 1 } });

    const beat = await api.post(`/api/v1/agents/${agent}/heartbeat`, { lease_id: lease.body.id });
    expect(beat.status).toBe(200);
    // The lease stays the agent's while it kills the test: busy until it releases the lease.
    expect(beat.body).toEqual({ lease_expires_at: expect.any(String), cancel_job_ids: [job.id] });
    expect((await api.get(`/api/v1/agents/${agent}`)).body).toMatchObject({ state: "busy" });
    const late = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/result`, {
      attempt: 1,
      status: "passed",
      duration_ms: 5,
    });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("job_finished");
    expect((await api.get(`/api/v1/jobs/${job.id}`)).body.status).toBe("cancelled");
    // Cancelling again changes nothing and is not an error.
    expect((await api.post(`/api/v1/jobs/${job.id}/cancel`)).body.status).toBe("cancelled");
    await api.post(`/api/v1/leases/${lease.body.id}/release`, {});
    expect((await api.get(`/api/v1/agents/${agent}`)).body).toMatchObject({ state: "idle" });
  });
});

describe("re-run failed", () => {
  it("queues the failed tests again as new jobs, and the run follows them", async () => {
    const api = await setup();
    const tests = ["tests/a.spec.js", "tests/b.spec.js", "tests/c.spec.js"];
    const run = await submit(api, { tests, target: "emulator" });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    const [a, b, c] = lease.body.jobs.sort((x: any, y: any) =>
      x.test_path.localeCompare(y.test_path),
    );
    await finishJob(api, lease.body.id, a, "passed");
    await finishJob(api, lease.body.id, b, "failed", {
      message: "boom",
      file: "tests/b.spec.js",
      line: 3,
    });
    await finishJob(api, lease.body.id, c, "error", { message: "device offline" });
    // c's infrastructure error goes back to the queue by itself: end it for good by cancelling.
    await api.post(`/api/v1/jobs/${c.id}/cancel`);
    expect((await api.get(`/api/v1/runs/${run.body.id}`)).body.status).toBe("failed");

    const rerun = await api.post(`/api/v1/runs/${run.body.id}/rerun-failed`, {});
    expect(rerun.status).toBe(200);
    expect(rerun.body.rerun_job_ids).toHaveLength(2);
    expect(rerun.body.status).toBe("running");
    expect(rerun.body.counts).toMatchObject({ total: 3, passed: 1, queued: 2, failed: 0 });
    const fresh = rerun.body.jobs.filter((j: any) => rerun.body.rerun_job_ids.includes(j.id));
    expect(fresh.map((j: any) => [j.test_path, j.status, j.attempts, j.rerun_of]).sort()).toEqual([
      ["tests/b.spec.js", "queued", 0, b.id],
      ["tests/c.spec.js", "queued", 0, c.id],
    ]);
    // The old attempt is history: unchanged, and pointing at its re-run.
    const old = await api.get(`/api/v1/jobs/${b.id}`);
    expect(old.body).toMatchObject({ status: "failed", result: { message: "boom", line: 3 } });
    expect(rerun.body.rerun_job_ids).toContain(old.body.superseded_by);
    const all = await api.get(`/api/v1/jobs?run_id=${run.body.id}`);
    expect(all.body.items).toHaveLength(5);

    // Asking twice queues nothing more.
    const again = await api.post(`/api/v1/runs/${run.body.id}/rerun-failed`);
    expect(again.body.rerun_job_ids).toEqual([]);

    // The new jobs run like any other, and the run passes once they do.
    const second = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expect(second.body.install).toBe(false);
    for (const job of second.body.jobs) await finishJob(api, second.body.id, job, "passed");
    const done = await api.get(`/api/v1/runs/${run.body.id}`);
    expect(done.body.status).toBe("passed");
    expect(done.body.counts).toMatchObject({ total: 3, passed: 3 });
  });

  it("re-runs only the named target's failures", async () => {
    const api = await setup();
    const run = await submit(api, { tests: ["tests/a.spec.js"] });
    await api.post(`/api/v1/runs/${run.body.id}/cancel`);
    const other = await api.post(`/api/v1/runs/${run.body.id}/rerun-failed`, {
      target: "browserstack",
    });
    expect(other.body.rerun_job_ids).toEqual([]);
    expect(other.body.status).toBe("cancelled");
    const mine = await api.post(`/api/v1/runs/${run.body.id}/rerun-failed`, { target: "emulator" });
    expect(mine.body.rerun_job_ids).toHaveLength(1);
    expect(mine.body.status).toBe("queued");
  });

  it("refuses an unknown run and a bad target", async () => {
    const api = await setup();
    const missing = await api.post("/api/v1/runs/run_0000000000000000000000/rerun-failed", {});
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
    const run = await submit(api, { tests: ["tests/a.spec.js"] });
    const bad = await api.post(`/api/v1/runs/${run.body.id}/rerun-failed`, { target: "toaster" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
  });
});

describe("idempotent submission", () => {
  it("returns the first run for a repeated key, and 422 for the same key with another body", async () => {
    const api = await setup();
    const key = { "idempotency-key": "ci-run-42-attempt-1" };
    const first = await submit(api, { tests: ["a.spec.js", "b.spec.js"] }, key);
    const again = await submit(api, { tests: ["a.spec.js", "b.spec.js"] }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.jobs.map((j: any) => j.id)).toEqual(first.body.jobs.map((j: any) => j.id));

    const other = await submit(api, { tests: ["c.spec.js"] }, key);
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe("idempotency_mismatch");
    const jobs = await api.get("/api/v1/jobs");
    expect(jobs.body.items).toHaveLength(2);
    expect((await api.get("/api/v1/runs")).body.items).toHaveLength(1);
  });
});

describe("reading", () => {
  it("pages through jobs with a cursor and filters them", async () => {
    const api = await setup();
    await submit(api, { tests: ["1.spec.js", "2.spec.js", "3.spec.js", "4.spec.js", "5.spec.js"] });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/api/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((j: any) => j.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    expect((await api.get("/api/v1/jobs?status=passed")).body.items).toHaveLength(0);
    expect((await api.get("/api/v1/jobs?status=queued&target=emulator")).body.items).toHaveLength(
      5,
    );
  });

  it("shows queued groups with their age, and queue depth in the metrics", async () => {
    const api = await setup();
    await submit(api, { app_version_id: "v1", tests: ["a.spec.js", "b.spec.js"] });
    await submit(api, {
      app_version_id: "v2",
      target: "browserstack",
      tests: ["a.spec.js"],
      priority: 9,
    });
    const queue = await api.get("/api/v1/queue");
    expect(queue.body.groups).toEqual([
      expect.objectContaining({
        app_version_id: "v2",
        target: "browserstack",
        queued: 1,
        priority: 9,
      }),
      expect.objectContaining({ app_version_id: "v1", target: "emulator", queued: 2, priority: 5 }),
    ]);
    expect(queue.body.targets).toContainEqual(
      expect.objectContaining({ target: "emulator", queued: 2 }),
    );
    const metrics = await api.get("/metrics");
    expect(metrics.body).toContain('qgjob_queue_depth{target="emulator"} 2');
    expect(metrics.body).toContain('qgjob_queue_depth{target="browserstack"} 1');
    expect(metrics.body).toContain("qgjob_jobs_submitted_total 3");
  });
});

describe("restart", () => {
  it("finds every job, lease and result again after a restart on the same file", async () => {
    let api = await setup();
    const run = await submit(api, { tests: ["a.spec.js", "b.spec.js", "c.spec.js"] });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    await finishJob(api, lease.body.id, lease.body.jobs[0], "passed");
    const before = (await api.get(`/api/v1/runs/${run.body.id}`)).body;

    await server.stop();
    server = await startTestServer({}, server.dir);
    api = client<"untyped">(server.url);
    const after = await api.get(`/api/v1/runs/${run.body.id}`);
    expect(after.body).toEqual(before);
    // The lease survived too: the agent carries on where it was.
    await finishJob(api, lease.body.id, lease.body.jobs[1], "passed");
    expect((await api.get(`/api/v1/jobs/${lease.body.jobs[1].id}`)).body.status).toBe("passed");
  });
});
