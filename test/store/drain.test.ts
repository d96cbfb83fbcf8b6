/**
 * The drain rule on every engine: an agent whose installs keep failing (result status `error`)
 * takes no more work until it is undrained; errors spread wider than the window do not drain it.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultRequest, SubmitRunRequest } from "../../api/schemas.js";
import type { Store } from "../../app/store/store.js";
import { enginesUnderTest, testStoreOptions, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 1, 12);
const MINUTE = 60_000;

async function submit(store: Store, org: string, now: number) {
  await store.submitRun(
    SubmitRunRequest.parse({
      org_id: org,
      app_version_id: "v1",
      tests: ["tests/login.spec.ts"],
      max_attempts: 1,
    }),
    {},
    now,
  );
}

/** One job submitted, leased by the agent, and failed as its install failing would. */
async function failInstall(store: Store, org: string, agentId: string, now: number) {
  await submit(store, org, now);
  const grant = await store.claimLease(agentId, now);
  if (!grant) throw new Error("expected a lease");
  const job = grant.jobs[0]!;
  await store.startJob(grant.lease.id, job.id, job.attempts, now);
  await store.reportResult(
    grant.lease.id,
    job.id,
    ResultRequest.parse({
      attempt: job.attempts,
      status: "error",
      duration_ms: 10,
      message: `INSTALL_FAILED_INSUFFICIENT_STORAGE (${job.id})`,
    }),
    now,
  );
  return job.id;
}

for (const engine of await enginesUnderTest()) {
  describe(`Agent drain: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open({
        ...testStoreOptions(),
        drainRule: { errors: 3, windowMs: 10 * MINUTE },
      });
      store = opened.store;
    }, 120_000);
    afterAll(async () => {
      await opened?.dispose();
    });

    const register = async (org: string) =>
      (
        await store.registerAgent(
          { name: "pixel", target: "emulator", device: null, labels: [], installed: [] },
          { orgId: org },
          T0,
        )
      ).id;

    it("drains an agent failing every install, which takes no lease until undrained", async () => {
      const org = `org-${randomBytes(5).toString("hex")}`;
      const agentId = await register(org);
      const failed: string[] = [];
      for (let i = 0; i < 3; i++)
        failed.push(await failInstall(store, org, agentId, T0 + i * MINUTE));

      const drained = (await store.getAgent(agentId, { orgId: org }, T0 + 3 * MINUTE))!;
      expect(drained.drainedAt).toBe(T0 + 2 * MINUTE);
      expect(drained.recentErrors.map((e) => e.jobId)).toEqual(failed);
      expect(drained.recentErrors[0]!.message).toContain("INSTALL_FAILED_INSUFFICIENT_STORAGE");

      await submit(store, org, T0 + 3 * MINUTE);
      expect(await store.claimLease(agentId, T0 + 4 * MINUTE)).toBeNull();

      // Another org cannot see, so cannot undrain, this agent.
      expect(await store.undrainAgent(agentId, { orgId: "org-other" }, T0)).toBeNull();
      expect(await store.undrainAgent("agt-unknown", { orgId: null }, T0)).toBeNull();

      const undrained = (await store.undrainAgent(agentId, { orgId: org }, T0 + 5 * MINUTE))!;
      expect(undrained.drainedAt).toBeNull();
      expect(undrained.recentErrors).toEqual([]);
      const grant = await store.claimLease(agentId, T0 + 5 * MINUTE);
      expect(grant?.jobs).toHaveLength(1);
    });

    it("does not drain an agent whose errors are further apart than the window", async () => {
      const org = `org-${randomBytes(5).toString("hex")}`;
      const agentId = await register(org);
      for (const at of [0, 6, 12, 18]) await failInstall(store, org, agentId, T0 + at * MINUTE);
      const agent = (await store.getAgent(agentId, { orgId: org }, T0 + 20 * MINUTE))!;
      expect(agent.drainedAt).toBeNull();
      expect(agent.recentErrors).toHaveLength(2);
      await submit(store, org, T0 + 20 * MINUTE);
      expect(await store.claimLease(agentId, T0 + 20 * MINUTE)).not.toBeNull();
    });
  });
}
