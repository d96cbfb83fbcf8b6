/**
 * An idle fleet on every engine: agents polling an empty queue (and heartbeating) while seen
 * recently leave the database as it was, and still show as live with a current last_seen_at.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../app/store/store.js";
import { enginesUnderTest, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 7, 12);

for (const engine of await enginesUnderTest()) {
  describe(`idle fleet: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    });
    afterAll(() => opened?.dispose());

    /** Changes whenever a write commits: SQLite's data_version, each agent row's version on Postgres. */
    const writeMark = async () =>
      engine.name === "sqlite"
        ? (await opened.rows("pragma data_version"))[0]!.data_version
        : (await opened.rows("select string_agg(xmin::text, ',' order by id) as v from agents"))[0]!
            .v;

    it("polls and heartbeats of recently seen agents write nothing, and the agents stay live", async () => {
      const org = "org_idle";
      const fleet = await Promise.all(
        ["a", "b", "c"].map((name) =>
          store.registerAgent(
            { name, target: "emulator", device: null, labels: [], installed: [] },
            { orgId: org },
            T0,
          ),
        ),
      );
      const before = await writeMark();
      for (const at of [T0 + 100, T0 + 200, T0 + 300]) {
        for (const agent of fleet) {
          expect(await store.claimLease(agent.id, at)).toBeNull();
          await store.heartbeat(agent.id, null, at);
        }
      }
      expect(await writeMark()).toEqual(before);

      // Polls keep an agent live for as long as they go on: each one that finds its row a lease
      // TTL old records it.
      const ttl = store.options.leaseTtlMs;
      const [a] = fleet;
      for (let i = 1; i <= 3; i++) expect(await store.claimLease(a!.id, T0 + i * ttl)).toBeNull();
      expect(await writeMark()).not.toEqual(before);
      const listed = await store.listAgents({ orgId: org }, T0 + 3 * ttl + 1);
      expect(listed.find((x) => x.id === a!.id)?.lastSeenAt).toBe(T0 + 3 * ttl);
      expect(listed.filter((x) => x.lastSeenAt === T0).map((x) => x.name)).toEqual(["b", "c"]);
    });
  });
}
