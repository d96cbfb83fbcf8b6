/**
 * One agent, one live lease, on real Postgres: two lease polls by the same agent at once (a
 * retried poll, or two replicas) must not both be granted, whatever each claim saw when it began.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SubmitRunRequest } from "../../api/schemas.js";
import type { LeaseGrant, Store } from "../../app/store/store.js";
import { enginesUnderTest, waitingOnReader, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 7, 12);

for (const engine of (await enginesUnderTest()).filter((e) => e.name === "postgres")) {
  describe(`one live lease per agent: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    });
    afterAll(() => opened?.dispose());

    it("grants one of two simultaneous polls by one agent; the other finds no work", async () => {
      const org = "org_twice";
      // Two groups (two app versions): work enough for two leases.
      for (const version of ["v1", "v2"]) {
        await store.submitRun(
          SubmitRunRequest.parse({ org_id: org, app_version_id: version, tests: ["a.spec.ts"] }),
          {},
          T0,
        );
      }
      const agent = await store.registerAgent(
        { name: "twice", target: "emulator", device: null, labels: [], installed: [] },
        { orgId: org },
        T0,
      );
      // Both claims begin, then wait: the first at its lease insert, the second behind it.
      await opened.rows("begin");
      await opened.rows("lock table leases in share mode");
      const claims = [store.claimLease(agent.id, T0), store.claimLease(agent.id, T0)];
      await waitingOnReader(opened, 2);
      await opened.rows("commit");

      const grants = (await Promise.all(claims)).filter((g): g is LeaseGrant => g !== null);
      expect(grants).toHaveLength(1);
      const live = await opened.rows(
        `select id from leases where agent_id = '${agent.id}' and ended_at is null`,
      );
      expect(live.map((l) => l.id)).toEqual([grants[0]!.lease.id]);
      // The refused claim left its group queued: another agent takes it.
      const other = await store.registerAgent(
        { name: "other", target: "emulator", device: null, labels: [], installed: [] },
        { orgId: org },
        T0,
      );
      const next = await store.claimLease(other.id, T0);
      expect(next?.lease.appVersionId).not.toBe(grants[0]!.lease.appVersionId);
    });
  });
}
