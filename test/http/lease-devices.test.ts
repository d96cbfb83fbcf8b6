/**
 * A lease's device record over HTTP: what an agent owning its device session reports (installs,
 * sessions, setup time, what the device holds) is on each attempt of the lease's jobs, on the
 * dashboard's run page and in /metrics, and the next lease's `install` flag follows what the
 * device holds, not what an earlier lease granted.
 */
import { describe, expect, it } from "vitest";
import {
  bodyOf,
  expectStatus,
  finishJob,
  registerAgent,
  serverPerSuite,
  submit,
} from "../harness.js";

const suite = serverPerSuite();

async function leaseOf(agent: string) {
  const { api } = suite;
  const res = await api.post(`/api/v1/agents/${agent}/lease`, {});
  expectStatus(res, 200);
  return res.body;
}

describe("device records", () => {
  it("shows what the device did on the attempts, the run page and /metrics", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "dev-records");
    const run = await submit(api, { app_version_id: "v1", tests: ["a.spec.js", "b.spec.js"] });
    expectStatus(run, 201);
    const lease = await leaseOf(agent);
    expect(lease.install).toBe(true);
    for (const job of lease.jobs) await finishJob(api, lease.id, job);
    const record = {
      installs: 1,
      sessions: 2,
      setup_ms: { install: 4200, session: 1800 },
      installed: ["v1"],
    };
    const posted = await api.post(`/api/v1/leases/${lease.id}/device`, record);
    expectStatus(posted, 200);
    expect(posted.body).toMatchObject({
      lease_id: lease.id,
      agent_id: agent,
      app_version_id: "v1",
      installs: 1,
      sessions: 2,
      setup_ms: { install: 4200, session: 1800 },
    });
    // An agent that lost the answer posts again: kept once, counted once.
    expect((await api.post(`/api/v1/leases/${lease.id}/device`, record)).status).toBe(200);

    const evidence = await api.get(`/api/v1/jobs/${lease.jobs[0]!.id}/artifacts`);
    expectStatus(evidence, 200);
    expect(evidence.body.attempts[0]).toMatchObject({
      lease_id: lease.id,
      device: { installs: 1, sessions: 2, setup_ms: { install: 4200, session: 1800 } },
    });

    const page = await (await fetch(`${suite.server.url}/runs/${run.body.id}`)).text();
    expect(page).toContain("<h2>Devices</h2>");
    expect(page).toMatch(/1 installs · 2 sessions · setup\s+6\.0s\s+\(3\.0s per session\)/);
    expect(page).toContain(`<code>${lease.id}</code>`);

    const metrics = (await api.get("/metrics")).body;
    expect(metrics).toContain('qgjob_device_installs_total{target="emulator"} 1');
    expect(metrics).toContain('qgjob_device_sessions_total{target="emulator"} 2');
    expect(metrics).toContain('qgjob_device_setup_seconds_count{step="install"} 1');
    expect(metrics).toContain('qgjob_device_setup_seconds_sum{step="install"} 4.2');
    expect(metrics).toContain('qgjob_device_setup_seconds_sum{step="session"} 1.8');
  });

  it("an attempt whose lease reported nothing has no device record", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "no-device");
    await submit(api, { app_version_id: "v9", tests: ["c.spec.js"] });
    const lease = await leaseOf(agent);
    const job = lease.jobs[0]!;
    await finishJob(api, lease.id, job);
    const evidence = bodyOf(await api.get(`/api/v1/jobs/${job.id}/artifacts`));
    expect(evidence.attempts[0]).toMatchObject({ lease_id: lease.id, device: null });
  });

  it("the next lease installs by what the device holds, not by what was granted", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "dev-affinity");
    await submit(api, { app_version_id: "v2", tests: ["d.spec.js"] });
    const first = await leaseOf(agent);
    expect(first.install).toBe(true);
    await finishJob(api, first.id, first.jobs[0]!, "error");
    // The install failed on the device: it holds nothing, though v2 was granted.
    const failed = { installs: 0, sessions: 0, setup_ms: { install: 0, session: 0 } };
    await api.post(`/api/v1/leases/${first.id}/device`, { ...failed, installed: [] });
    expect(bodyOf(await api.get(`/api/v1/agents/${agent}`)).installed).toEqual([]);
    await submit(api, { app_version_id: "v2", tests: ["e.spec.js"] });
    const second = await leaseOf(agent);
    expect(second.app_version_id).toBe("v2");
    expect(second.install).toBe(true);
    await finishJob(api, second.id, second.jobs[0]!);
    // The device holds v3 too (installed by hand, or by an earlier agent): v3 needs no install.
    await api.post(`/api/v1/leases/${second.id}/device`, {
      ...failed,
      installs: 1,
      installed: ["v2", "v3"],
    });
    await submit(api, { app_version_id: "v3", tests: ["f.spec.js"] });
    const third = await leaseOf(agent);
    expect(third.app_version_id).toBe("v3");
    expect(third.install).toBe(false);
  });

  it("refuses a bad record with 400, and a lease that does not exist with 404", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "dev-bad");
    await submit(api, { app_version_id: "v4", tests: ["g.spec.js"] });
    const lease = await leaseOf(agent);
    const bad = await api.post(`/api/v1/leases/${lease.id}/device`, {
      installs: -1,
      sessions: 0,
      setup_ms: { install: 0, session: 0 },
    });
    expectStatus(bad, 400);
    expect(bad.body.error.code).toBeTypeOf("string");
    const missing = await api.post("/api/v1/leases/lse_01JD0000000000000000000000/device", {
      installs: 0,
      sessions: 0,
      setup_ms: { install: 0, session: 0 },
    });
    expectStatus(missing, 404);
    expect(missing.body.error.code).toBe("not_found");
  });
});
