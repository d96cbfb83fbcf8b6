/** A claim hands back each of its jobs' run bundle and build, on every engine. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SubmitRunRequest } from "../../api/schemas.js";
import type { RunInputs, Store } from "../../app/store/store.js";
import { enginesUnderTest, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 7, 12);
const sha = (c: string) => c.repeat(64);

for (const engine of await enginesUnderTest()) {
  describe(`claim inputs: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    });
    afterAll(() => opened?.dispose());

    it("answers a lease with the bundle and build of each of its jobs' runs", async () => {
      const org = "org_inputs";
      const submit = (tests: string[], inputs: RunInputs) =>
        store.submitRun(
          SubmitRunRequest.parse({ org_id: org, app_version_id: "v1", target: "emulator", tests }),
          inputs,
          T0,
        );
      const packed: RunInputs = {
        bundle: { sha256: sha("a"), size: 10, files: 2, source_sha: "abc123" },
        build: { sha256: sha("b"), size: 20, name: "app.apk" },
      };
      const none: RunInputs = { bundle: null, build: null };
      const withInputs = await submit(["a.spec.ts", "b.spec.ts"], packed);
      const without = await submit(["c.spec.ts"], none);
      const expected = new Map([
        [withInputs.run.id, packed],
        [without.run.id, none],
      ]);

      const claimed = new Map<string, RunInputs | undefined>();
      for (const name of ["a", "b", "c"]) {
        const agent = await store.registerAgent(
          { name, target: "emulator", device: null, labels: [], installed: [] },
          { orgId: org },
          T0,
        );
        const grant = await store.claimLease(agent.id, T0);
        for (const job of grant?.jobs ?? []) claimed.set(job.id, grant!.inputs.get(job.runId));
      }
      const jobs = [...withInputs.jobs, ...without.jobs];
      expect(claimed.size).toBe(jobs.length);
      for (const job of jobs) expect(claimed.get(job.id)).toEqual(expected.get(job.runId));
    });
  });
}
