/**
 * Submissions on every engine: the largest run allowed is written whole, and one Idempotency-Key
 * submitted twice at once makes one run. On real Postgres a submission is one statement.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListRunsQuery, MAX_TESTS, SubmitRunRequest } from "../../api/schemas.js";
import type { Store } from "../../app/store/store.js";
import { enginesUnderTest, statementsOf, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 7, 12);

const request = (org: string, tests: number) =>
  SubmitRunRequest.parse({
    org_id: org,
    app_version_id: "v1",
    tests: Array.from({ length: tests }, (_, i) => `flows/t${i}.spec.ts`),
  });

for (const engine of await enginesUnderTest()) {
  describe(`submissions: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    });
    afterAll(() => opened?.dispose());

    it(`writes a run of ${MAX_TESTS} tests whole, and answers what it wrote`, async () => {
      const submit = () => store.submitRun(request("org_big", MAX_TESTS), {}, T0);
      let submitted: Awaited<ReturnType<typeof submit>> | undefined;
      const sent = await statementsOf(async () => (submitted = await submit()));
      if (engine.name === "postgres") expect(sent).toHaveLength(1);
      expect(submitted!.run.counts.queued).toBe(MAX_TESTS);
      const read = await store.getRun(submitted!.run.id, { orgId: null });
      expect(read?.jobs.map((j) => j.testPath).sort()).toEqual(
        submitted!.jobs.map((j) => j.testPath).sort(),
      );
      expect(read?.jobs.every((j) => j.status === "queued" && j.attempts === 0)).toBe(true);
    });

    it("makes one run of one Idempotency-Key submitted twice at once, and answers it to both", async () => {
      const input = request("org_twice", 3);
      const opts = { idempotencyKey: "push-1", requestHash: "h1" };
      const [a, b] = await Promise.all([
        store.submitRun(input, opts, T0),
        store.submitRun(input, opts, T0),
      ]);
      expect(a.run.id).toBe(b.run.id);
      expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
      const runs = await store.listRuns(ListRunsQuery.parse({ org_id: "org_twice" }), {
        orgId: null,
      });
      expect(runs.items).toHaveLength(1);
      expect(runs.items[0]!.counts.total).toBe(3);
    });
  });
}
