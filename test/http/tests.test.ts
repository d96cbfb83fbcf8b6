/**
 * Test history and quarantines over HTTP, on a real server and SQLite file: the list and its
 * sorts, a test's page, quarantining by API, and a quarantined failure leaving its run passed.
 */
import { describe, expect, it } from "vitest";
import {
  bodyOf,
  expectStatus,
  finishJob,
  registerAgent,
  serverPerSuite,
  submit,
  type Client,
} from "../harness.js";

const suite = serverPerSuite();

/** Submits one run of these tests and ends each with the given status; answers the run. */
async function runOnce(
  api: Client,
  org: string,
  agent: string,
  outcomes: Record<string, "passed" | "failed" | "error">,
) {
  const tests = Object.keys(outcomes);
  const run = await submit(api, { org_id: org, tests, max_attempts: 1 });
  expectStatus(run, 201);
  let left = tests.length;
  while (left > 0) {
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 1 });
    expectStatus(lease, 200);
    for (const job of lease.body.jobs) {
      const ended = await finishJob(api, lease.body.id, job, outcomes[job.test_path], {
        duration_ms: 1000 * (tests.indexOf(job.test_path) + 1),
        ...(outcomes[job.test_path] === "passed" ? {} : { message: "no #login" }),
      });
      expect(ended.status).toBe(200);
      left--;
    }
  }
  return bodyOf(await api.get(`/api/v1/runs/${run.body.id}`));
}

describe("GET /api/v1/tests", () => {
  it("lists each test with its history, sorted and filtered, and shows one with its runs", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "pixel-history");
    await runOnce(api, "history", agent, { "a.spec.js": "passed", "b.spec.js": "failed" });
    await runOnce(api, "history", agent, { "a.spec.js": "passed", "b.spec.js": "passed" });

    const byFailure = await api.get("/api/v1/tests?org_id=history&sort=failure_rate");
    expectStatus(byFailure, 200);
    expect(byFailure.body.items.map((t) => [t.test_path, t.failure_rate, t.recent])).toEqual([
      ["b.spec.js", 0.5, ["failed", "passed"]],
      ["a.spec.js", 0, ["passed", "passed"]],
    ]);
    const slowest = bodyOf(await api.get("/api/v1/tests?org_id=history&sort=duration&limit=1"));
    expect(slowest.items.map((t) => [t.test_path, t.p95_ms])).toEqual([["b.spec.js", 2000]]);
    expect(slowest.next_cursor).toEqual(expect.any(String));
    const next = bodyOf(
      await api.get(
        `/api/v1/tests?org_id=history&sort=duration&limit=1&cursor=${slowest.next_cursor}`,
      ),
    );
    expect(next.items.map((t) => t.test_path)).toEqual(["a.spec.js"]);

    const b = byFailure.body.items[0]!;
    const detail = await api.get(`/api/v1/tests/${b.id}`);
    expectStatus(detail, 200);
    expect(detail.body).toMatchObject({ runs: 2, failed: 1, passed: 1, quarantine: null });
    expect(detail.body.recent_runs.map((r) => r.outcome)).toEqual(["passed", "failed"]);
    expect(detail.body.last_failures).toEqual([
      expect.objectContaining({ outcome: "failed", message: "no #login" }),
    ]);
  });

  it("answers bad input with 4xx and a code, never 500", async () => {
    const { api } = suite;
    expect((await api.get("/api/v1/tests?sort=slowness")).status).toBe(400);
    const badCursor = await api.get("/api/v1/tests?cursor=bm90IG91cnM");
    expectStatus(badCursor, 400);
    expect(badCursor.body.error.code).toBe("invalid_request");
    expect((await api.get("/api/v1/tests/tst_01JD0000000000000000000000")).status).toBe(404);
    const fleetWithoutOrg = await api.post("/api/v1/quarantines", {
      test_path: "a.spec.js",
      reason: "flaky",
    });
    expectStatus(fleetWithoutOrg, 400);
    expect(fleetWithoutOrg.body.error.code).toBe("invalid_request");
    const tooLong = await api.post("/api/v1/quarantines", {
      org_id: "history",
      test_path: "a.spec.js",
      reason: "flaky",
      expires_in_s: 365 * 86_400,
    });
    expect(tooLong.status).toBe(400);
    const none = await api.post("/api/v1/quarantines/end", {
      org_id: "history",
      test_path: "never.spec.js",
    });
    expect(none.status).toBe(404);
  });
});

describe("quarantine", () => {
  it("a quarantined test's failure leaves its run passed; unquarantined, it fails the run again", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "pixel-quarantine");
    const put = await api.post("/api/v1/quarantines", {
      org_id: "quarantine",
      test_path: "login.spec.js",
      reason: "flaky since the new keyboard",
      owner: "qa",
      expires_in_s: 14 * 86_400,
    });
    expectStatus(put, 201);
    expect(put.body).toMatchObject({ automatic: false, owner: "qa" });

    const run = await runOnce(api, "quarantine", agent, {
      "login.spec.js": "failed",
      "home.spec.js": "passed",
    });
    expect(run.status).toBe("passed");
    expect(run.counts).toMatchObject({ failed: 1, quarantined: 1, passed: 1 });
    const login = run.jobs.find((j) => j.test_path === "login.spec.js");
    expect(login).toMatchObject({ status: "failed", quarantined_until: put.body.expires_at });

    const listed = bodyOf(await api.get("/api/v1/tests?org_id=quarantine&quarantined=true"));
    expect(listed.items.map((t) => [t.test_path, t.quarantine?.reason])).toEqual([
      ["login.spec.js", "flaky since the new keyboard"],
    ]);
    expect(bodyOf(await api.get("/api/v1/quarantines")).items).toEqual([
      expect.objectContaining({ org_id: "quarantine", test_path: "login.spec.js" }),
    ]);

    const ended = await api.post("/api/v1/quarantines/end", {
      org_id: "quarantine",
      test_path: "login.spec.js",
    });
    expect(ended.status).toBe(204);
    const again = await runOnce(api, "quarantine", agent, { "login.spec.js": "failed" });
    expect(again.status).toBe("failed");
    expect(again.counts.quarantined).toBe(0);
    // The first run's verdict was the job's own mark: it stays passed.
    expect(bodyOf(await api.get(`/api/v1/runs/${run.id}`)).status).toBe("passed");
  });
});

describe("fail_fast", () => {
  it("cancels the rest of a run after its N-th failure, and not before", async () => {
    const { api } = suite;
    const tests = ["f1.spec.js", "f2.spec.js", "f3.spec.js", "f4.spec.js", "f5.spec.js"];
    const run = await submit(api, { org_id: "fast", tests, max_attempts: 1, fail_fast: 2 });
    expectStatus(run, 201);
    expect(run.body.fail_fast).toBe(2);
    const agent = await registerAgent(api, "pixel-fast");
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 1 });
    expectStatus(lease, 200);
    const jobs = lease.body.jobs;
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    await finishJob(api, lease.body.id, jobs[0]!, "failed");
    await finishJob(api, lease.body.id, jobs[1]!, "passed");
    expect(bodyOf(await api.get(`/api/v1/runs/${run.body.id}`)).status).toBe("running");
    await finishJob(api, lease.body.id, jobs[2]!, "failed");

    const after = bodyOf(await api.get(`/api/v1/runs/${run.body.id}`));
    expect(after.status).toBe("failed");
    expect(after.counts).toMatchObject({ failed: 2, passed: 1, cancelled: 2, queued: 0 });
    // A job of the lease not yet started is not started any more.
    if (jobs[3]) {
      const start = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${jobs[3].id}/start`, {
        attempt: jobs[3].attempt,
      });
      expect(start.status).toBe(409);
    }
  });

  it("refuses a fail_fast that is not a positive whole number", async () => {
    const { api } = suite;
    for (const fail_fast of [0, -1, 1.5, "2"]) {
      const res = await submit(api, { org_id: "fast", tests: ["a.spec.js"], fail_fast });
      expect({ fail_fast, status: res.status }).toEqual({ fail_fast, status: 400 });
    }
  });
});
