/**
 * A job's life over real HTTP and a real SQLite file: submit, lease, run, report, and every
 * way that can go wrong on the agent's side (lost, stale, retried, cancelled, released).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  agentKeyHeaderOf,
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("submit, lease, result, status", () => {
  it("runs a submitted run to passed and reports it on the run and each job", async () => {
    const api = await setup();
    const tests = ["tests/onboarding.spec.js", "tests/login.spec.js", "tests/checkout.spec.js"];
    const run = await submit(api, { tests });
    expectStatus(run, 201);
    expect(run.body.jobs.map((j) => j.test_path)).toEqual(tests); // in submission order
    expect(run.body.status).toBe("queued");
    expect(run.body.counts).toMatchObject({ total: 3, queued: 3 });

    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    expect(lease.body).toMatchObject({ app_version_id: "xyz123", install: true });
    expect(lease.body.jobs).toHaveLength(3);

    for (const job of lease.body.jobs) {
      const res = await finishJob(api, lease.body.id, job, "passed", { duration_ms: 4200 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ retry: false, job: { status: "passed" } });
    }
    const done = bodyOf(await api.get(`/api/v1/runs/${run.body.id}`));
    expect(done.status).toBe("passed");
    expect(done.counts).toMatchObject({ total: 3, passed: 3, queued: 0 });
    expect(done.finished_at).not.toBeNull();
    const job = await api.get(`/api/v1/jobs/${run.body.jobs[0]!.id}`);
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
    const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"] }));
    const waiting = api.get(`/api/v1/runs/${run.id}/wait?timeout_s=20`);
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const t0 = Date.now();
    await finishJob(api, lease.body.id, lease.body.jobs[0]!, "failed", {
      message: "expected 1 to be 2",
    });
    const waited = bodyOf(await waiting);
    expect(waited.status).toBe("failed");
    expect(waited.jobs[0]!.result!.message).toBe("expected 1 to be 2");
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
    const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"] }));
    const lease = await asking;
    expectStatus(lease, 200);
    expect(lease.body.jobs[0]!.id).toBe(run.jobs[0]!.id);
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
    const run = bodyOf(await submit(api, { tests: ["a.spec.js"] }));
    await sleep(500);
    expect(bodyOf(await api.get(`/api/v1/jobs/${run.jobs[0]!.id}`)).status).toBe("queued");
    expect(bodyOf(await api.get(`/api/v1/agents/${agent}`)).lease_id).toBeNull();
  });
});

describe("grouping and affinity", () => {
  it("gives two agents with different installed versions each their own group, without installs", async () => {
    const api = await setup();
    const older = bodyOf(
      await submit(api, { app_version_id: "v1", tests: ["a.spec.js", "b.spec.js", "c.spec.js"] }),
    );
    await sleep(5);
    const newer = bodyOf(
      await submit(api, { app_version_id: "v2", tests: ["a.spec.js", "b.spec.js", "c.spec.js"] }),
    );
    const onV2 = await registerAgent(api, "device-v2", { installed: ["v2"] });
    const onV1 = await registerAgent(api, "device-v1", { installed: ["v1"] });

    const first = await api.post(`/api/v1/agents/${onV2}/lease`, {});
    const second = await api.post(`/api/v1/agents/${onV1}/lease`, {});
    expectStatus(first, 200);
    expectStatus(second, 200);
    expect(first.body).toMatchObject({ app_version_id: "v2", install: false });
    expect(second.body).toMatchObject({ app_version_id: "v1", install: false });
    expect(first.body.jobs.map((j) => j.id).sort()).toEqual(newer.jobs.map((j) => j.id).sort());
    expect(second.body.jobs.map((j) => j.id).sort()).toEqual(older.jobs.map((j) => j.id).sort());
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
      const first = bodyOf(await submit(api, { tests: ["a.spec.js", "b.spec.js"], ...field }));
      await sleep(5);
      await submit(api, { tests: ["c.spec.js", "d.spec.js"], ...other });
      const agent = await registerAgent(api, "pixel-7");
      const ids = (body: { jobs: { id: string }[] }) => body.jobs.map((j) => j.id);

      const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(lease, 200);
      expect(ids(lease.body).sort()).toEqual(ids(first).sort());
      const queue = bodyOf(await api.get("/api/v1/queue"));
      // The other half of the build is still one queued group, of its own key.
      expect(queue.groups).toEqual([
        expect.objectContaining({ key: otherKey, app_version_id: "xyz123", queued: 2 }),
      ]);
    },
  );

  it("remembers what a device installed: its next lease of that version needs no install", async () => {
    const api = await setup();
    const agent = await registerAgent(api, "pixel-7");
    await submit(api, { app_version_id: "v9", tests: ["a.spec.js"] });
    const first = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(first, 200);
    expect(first.body.install).toBe(true);
    await finishJob(api, first.body.id, first.body.jobs[0]!);
    await submit(api, { app_version_id: "v9", tests: ["b.spec.js"] });
    const second = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(second, 200);
    expect(second.body.install).toBe(false);
    expect(bodyOf(await api.get(`/api/v1/agents/${agent}`)).installed).toEqual(["v9"]);
  });
});

describe("lease fencing and recovery", () => {
  it("requeues an expired lease's job, refuses the stale agent, and lets another agent finish it", async () => {
    const api = await setup({ leaseTtlS: 0.4, reapIntervalS: 0.1 });
    const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"] }));
    const jobId = run.jobs[0]!.id;
    const stale = await registerAgent(api, "frozen");
    const lease = await api.post(`/api/v1/agents/${stale}/lease`, {});
    expectStatus(lease, 200);
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${jobId}/start`, { attempt: 1 });

    await sleep(1000); // no heartbeat: the lease expires and the reaper settles it
    const requeued = await api.get(`/api/v1/jobs/${jobId}`);
    expect(requeued.body).toMatchObject({ status: "queued", attempts: 1, lease_id: null });

    const late = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${jobId}/result`, {
      attempt: 1,
      status: "passed",
      duration_ms: 10,
    });
    expectStatus(late, 409);
    expect(late.body.error.code).toBe("stale_lease");
    const beat = await api.post(`/api/v1/agents/${stale}/heartbeat`, { lease_id: lease.body.id });
    expectStatus(beat, 409);
    expect(beat.body.error.code).toBe("lease_lost");
    // Refused, but heard: the agent is alive (idle), not lost.
    expect(bodyOf(await api.get(`/api/v1/agents/${stale}`)).state).toBe("idle");
    expect((await api.get(`/api/v1/jobs/${jobId}`)).body).toMatchObject({
      status: "queued",
      attempts: 1,
    });

    const healthy = await registerAgent(api, "healthy");
    const retry = await api.post(`/api/v1/agents/${healthy}/lease`, {});
    expectStatus(retry, 200);
    expect(retry.body.jobs[0]).toMatchObject({ id: jobId, attempt: 2 });
    await finishJob(api, retry.body.id, retry.body.jobs[0]!);
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
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!;
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
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!;
    const path = `/api/v1/leases/${lease.body.id}/jobs/${job.id}/result` as const;
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
    expectStatus(first, 200);
    expectStatus(again, 200);
    expect(again.body.job).toEqual(first.body.job);
    const other = await api.post(path, { ...body, status: "passed" });
    expectStatus(other, 409);
    expect(other.body.error.code).toBe("result_conflict");
    expect((await api.get(`/api/v1/jobs/${job.id}`)).body).toMatchObject({
      status: "failed",
      result: { message: "boom", file: "tests/a.spec.js", line: 7 },
    });
  });

  it("retries an infrastructure error on another agent, and ends it as error after max_attempts", async () => {
    const api = await setup();
    const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"], max_attempts: 2 }));
    const jobId = run.jobs[0]!.id;
    const a = await registerAgent(api, "a");
    const b = await registerAgent(api, "b");

    const first = await api.post(`/api/v1/agents/${a}/lease`, {});
    expectStatus(first, 200);
    const failed = await finishJob(api, first.body.id, first.body.jobs[0]!, "error", {
      message: "install failed",
    });
    expect(failed.body).toMatchObject({ job: { status: "queued", attempts: 1 } });
    // The agent that failed it is passed over while another can take it.
    expect((await api.post(`/api/v1/agents/${a}/lease`, {})).status).toBe(204);
    const second = await api.post(`/api/v1/agents/${b}/lease`, {});
    expectStatus(second, 200);
    expect(second.body.jobs[0]).toMatchObject({ id: jobId, attempt: 2 });
    const last = await finishJob(api, second.body.id, second.body.jobs[0]!, "error", {
      message: "adb offline",
    });
    expect(last.body).toMatchObject({
      job: { status: "error", attempts: 2, result: { message: "adb offline" } },
    });
    expect(bodyOf(await api.get(`/api/v1/runs/${run.id}`)).status).toBe("failed");
  });

  it("retries a failed test on the same device in the same lease when asked, and marks a later pass flaky", async () => {
    const api = await setup();
    const run = bodyOf(await submit(api, { tests: ["tests/flaky.spec.js"], retries: 1 }));
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!;
    const failed = await finishJob(api, lease.body.id, job, "failed");
    expect(failed.body).toMatchObject({ retry: true, job: { status: "leased", attempts: 2 } });
    const passed = await finishJob(api, lease.body.id, { id: job.id, attempt: 2 }, "passed");
    expect(passed.body).toMatchObject({
      retry: false,
      job: { status: "passed", flaky: true, attempts: 2 },
    });
    const view = await api.get(`/api/v1/runs/${run.id}`);
    expect(view.body).toMatchObject({ status: "passed", counts: { passed: 1, flaky: 1 } });
  });

  it("gives back a released lease's unstarted jobs at no cost; the started one counts as interrupted", async () => {
    const api = await setup();
    await submit(api, { tests: ["a.spec.js", "b.spec.js", "c.spec.js"] });
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const [started, ...unstarted] = lease.body.jobs;
    if (!started) throw new Error("the lease holds no job");
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
    const run = bodyOf(await submit(api, { tests: ["a.spec.js"] }));
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${lease.body.jobs[0]!.id}/start`, {
      attempt: 1,
    });
    expect(await registerAgent(api, "pixel-7")).toBe(agent);
    expect(bodyOf(await api.get(`/api/v1/jobs/${run.jobs[0]!.id}`)).status).toBe("queued");
    expect((await api.get(`/api/v1/agents/${agent}`)).body).toMatchObject({
      state: "idle",
      lease_id: null,
    });
  });
});

describe("cancel", () => {
  it("ends queued jobs at once and tells the agent running a leased one on its next heartbeat", async () => {
    const api = await setup();
    const running = bodyOf(await submit(api, { tests: ["a.spec.js"] }));
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!;
    await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/start`, { attempt: 1 });
    const queued = bodyOf(await submit(api, { app_version_id: "other", tests: ["b.spec.js"] }));

    const single = bodyOf(await api.post(`/api/v1/jobs/${queued.jobs[0]!.id}/cancel`));
    expect(single.status).toBe("cancelled");
    const run = await api.post(`/api/v1/runs/${running.id}/cancel`);
    expect(run.body).toMatchObject({ status: "cancelled", counts: { cancelled: 1 } });

    const beat = await api.post(`/api/v1/agents/${agent}/heartbeat`, { lease_id: lease.body.id });
    expectStatus(beat, 200);
    // The lease stays the agent's while it kills the test: busy until it releases the lease.
    expect(beat.body).toEqual({ lease_expires_at: expect.any(String), cancel_job_ids: [job.id] });
    expect((await api.get(`/api/v1/agents/${agent}`)).body).toMatchObject({ state: "busy" });
    const late = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/result`, {
      attempt: 1,
      status: "passed",
      duration_ms: 5,
    });
    expectStatus(late, 409);
    expect(late.body.error.code).toBe("job_finished");
    expect(bodyOf(await api.get(`/api/v1/jobs/${job.id}`)).status).toBe("cancelled");
    // Cancelling again changes nothing and is not an error.
    expect(bodyOf(await api.post(`/api/v1/jobs/${job.id}/cancel`)).status).toBe("cancelled");
    await api.post(`/api/v1/leases/${lease.body.id}/release`, {});
    expect((await api.get(`/api/v1/agents/${agent}`)).body).toMatchObject({ state: "idle" });
  });
});

describe("re-run failed", () => {
  it("queues the failed tests again as new jobs, and the run follows them", async () => {
    const api = await setup();
    const tests = ["tests/a.spec.js", "tests/b.spec.js", "tests/c.spec.js"];
    const run = bodyOf(await submit(api, { tests, target: "emulator" }));
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const [a, b, c] = lease.body.jobs.sort((x, y) => x.test_path.localeCompare(y.test_path));
    if (!a || !b || !c) throw new Error(`the lease holds ${lease.body.jobs.length} jobs, not 3`);
    await finishJob(api, lease.body.id, a, "passed");
    await finishJob(api, lease.body.id, b, "failed", {
      message: "boom",
      file: "tests/b.spec.js",
      line: 3,
    });
    await finishJob(api, lease.body.id, c, "error", { message: "device offline" });
    // c's infrastructure error goes back to the queue by itself: end it for good by cancelling.
    await api.post(`/api/v1/jobs/${c.id}/cancel`);
    expect(bodyOf(await api.get(`/api/v1/runs/${run.id}`)).status).toBe("failed");

    const rerun = await api.post(`/api/v1/runs/${run.id}/rerun-failed`, {});
    expectStatus(rerun, 200);
    expect(rerun.body.rerun_job_ids).toHaveLength(2);
    expect(rerun.body.status).toBe("running");
    expect(rerun.body.counts).toMatchObject({ total: 3, passed: 1, queued: 2, failed: 0 });
    const fresh = rerun.body.jobs.filter((j) => rerun.body.rerun_job_ids.includes(j.id));
    expect(fresh.map((j) => [j.test_path, j.status, j.attempts, j.rerun_of]).sort()).toEqual([
      ["tests/b.spec.js", "queued", 0, b.id],
      ["tests/c.spec.js", "queued", 0, c.id],
    ]);
    // The old attempt is history: unchanged, and pointing at its re-run.
    const old = bodyOf(await api.get(`/api/v1/jobs/${b.id}`));
    expect(old).toMatchObject({ status: "failed", result: { message: "boom", line: 3 } });
    expect(rerun.body.rerun_job_ids).toContain(old.superseded_by);
    const all = bodyOf(await api.get(`/api/v1/jobs?run_id=${run.id}`));
    expect(all.items).toHaveLength(5);

    // Asking twice queues nothing more.
    const again = bodyOf(await api.post(`/api/v1/runs/${run.id}/rerun-failed`));
    expect(again.rerun_job_ids).toEqual([]);

    // The new jobs run like any other, and the run passes once they do.
    const second = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(second, 200);
    expect(second.body.install).toBe(false);
    for (const job of second.body.jobs) await finishJob(api, second.body.id, job, "passed");
    const done = bodyOf(await api.get(`/api/v1/runs/${run.id}`));
    expect(done.status).toBe("passed");
    expect(done.counts).toMatchObject({ total: 3, passed: 3 });
  });

  it("re-runs only the named target's failures", async () => {
    const api = await setup();
    const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"] }));
    await api.post(`/api/v1/runs/${run.id}/cancel`);
    const other = bodyOf(
      await api.post(`/api/v1/runs/${run.id}/rerun-failed`, { target: "browserstack" }),
    );
    expect(other.rerun_job_ids).toEqual([]);
    expect(other.status).toBe("cancelled");
    const mine = bodyOf(
      await api.post(`/api/v1/runs/${run.id}/rerun-failed`, { target: "emulator" }),
    );
    expect(mine.rerun_job_ids).toHaveLength(1);
    expect(mine.status).toBe("queued");
  });

  it("refuses an unknown run and a bad target", async () => {
    const api = await setup();
    const missing = await api.post("/api/v1/runs/run_0000000000000000000000/rerun-failed", {});
    expectStatus(missing, 404);
    expect(missing.body.error.code).toBe("not_found");
    const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"] }));
    const bad = await api.post(`/api/v1/runs/${run.id}/rerun-failed`, { target: "toaster" });
    expectStatus(bad, 400);
    expect(bad.body.error.code).toBe("invalid_request");
  });
});

describe("idempotent submission", () => {
  it("returns the first run for a repeated key, and 422 for the same key with another body", async () => {
    const api = await setup();
    const key = { "idempotency-key": "ci-run-42-attempt-1" };
    const first = await submit(api, { tests: ["a.spec.js", "b.spec.js"] }, key);
    const again = await submit(api, { tests: ["a.spec.js", "b.spec.js"] }, key);
    expectStatus(first, 201);
    expectStatus(again, 201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.jobs.map((j) => j.id)).toEqual(first.body.jobs.map((j) => j.id));

    const other = await submit(api, { tests: ["c.spec.js"] }, key);
    expectStatus(other, 422);
    expect(other.body.error.code).toBe("idempotency_mismatch");
    const jobs = bodyOf(await api.get("/api/v1/jobs"));
    expect(jobs.items).toHaveLength(2);
    expect(bodyOf(await api.get("/api/v1/runs")).items).toHaveLength(1);
  });
});

describe("reading", () => {
  it("pages through jobs with a cursor and filters them", async () => {
    const api = await setup();
    await submit(api, { tests: ["1.spec.js", "2.spec.js", "3.spec.js", "4.spec.js", "5.spec.js"] });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      // A plain string: built inline from the cursor, the page's type would depend on itself.
      const from: string = cursor ? `&cursor=${cursor}` : "";
      const page = bodyOf(await api.get(`/api/v1/jobs?limit=2${from}`));
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((j) => j.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    expect(bodyOf(await api.get("/api/v1/jobs?status=passed")).items).toHaveLength(0);
    expect(bodyOf(await api.get("/api/v1/jobs?status=queued&target=emulator")).items).toHaveLength(
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
    const queue = bodyOf(await api.get("/api/v1/queue"));
    expect(queue.groups).toEqual([
      expect.objectContaining({
        app_version_id: "v2",
        target: "browserstack",
        queued: 1,
        priority: 9,
      }),
      expect.objectContaining({ app_version_id: "v1", target: "emulator", queued: 2, priority: 5 }),
    ]);
    expect(queue.targets).toContainEqual(
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
    const run = bodyOf(await submit(api, { tests: ["a.spec.js", "b.spec.js", "c.spec.js"] }));
    const agent = await registerAgent(api, "pixel-7");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    await finishJob(api, lease.body.id, lease.body.jobs[0]!, "passed");
    const before = bodyOf(await api.get(`/api/v1/runs/${run.id}`));

    await server.stop();
    server = await startTestServer({}, server.dir);
    api = client(server.url);
    const after = await api.get(`/api/v1/runs/${run.id}`);
    expect(after.body).toEqual(before);
    // The lease survived too: the agent carries on where it was.
    const job = lease.body.jobs[1]!;
    await finishJob(api, lease.body.id, job, "passed");
    expect(bodyOf(await api.get(`/api/v1/jobs/${job.id}`)).status).toBe("passed");
  });
});
