/** A device agent played over the HTTP API by the test itself, for faults of the server. */
import { expectStatus, registerAgent, submit, type Client } from "../harness.js";

export interface HeldLease {
  agentId: string;
  leaseId: string;
  job: { id: string; attempt: number };
  runId: string;
}

/** Registers an agent of its own device, submits one test for it and takes its lease. */
export async function holdLease(
  api: Client,
  device: string,
  opts: { start: boolean },
): Promise<HeldLease> {
  const agentId = await registerAgent(api, `agent-${device}`, { device });
  const run = await submit(api, {
    org_id: "acme",
    app_version_id: device,
    target: "emulator",
    device,
    tests: [`${device}.spec.ts`],
  });
  expectStatus(run, 201);
  const lease = await api.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 5 });
  expectStatus(lease, 200);
  const job = lease.body.jobs[0]!;
  if (opts.start) {
    const started = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/start`, {
      attempt: job.attempt,
    });
    expectStatus(started, 200);
  }
  return { agentId, leaseId: lease.body.id, job, runId: run.body.id };
}

/** Heartbeats every `everyMs` until stopped; remembers each answer's status. */
export function heartbeating(api: Client, held: HeldLease, everyMs: number) {
  const statuses: number[] = [];

  const timer = setInterval(() => {
    void api
      .post(`/api/v1/agents/${held.agentId}/heartbeat`, { lease_id: held.leaseId })
      .then((r) => statuses.push(r.status))
      .catch(() => statuses.push(0));
  }, everyMs);
  return {
    statuses,
    stop: () => clearInterval(timer),
  };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
