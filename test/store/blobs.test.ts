/** Which org holds which blob, on every engine: SQLite, PGlite and the real Postgres server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../app/store/store.js";
import { enginesUnderTest, type OpenedStore } from "./engines.js";

const H1 = "a".repeat(64);
const H2 = "b".repeat(64);
const H3 = "c".repeat(64);

for (const engine of await enginesUnderTest()) {
  describe(`blob holdings: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    // PGlite starts a WASM Postgres: slow on a loaded machine.
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    }, 90_000);
    afterAll(() => opened.dispose());

    it("retention: drops holdings unused since a time in batches, oldest first; bytes go when nobody holds them", async () => {
      const h = (c: string) => c.repeat(64);
      await store.recordBlob({ orgId: "acme", sha256: h("1"), size: 100, kind: "artifact" }, 10);
      await store.recordBlob({ orgId: "globex", sha256: h("1"), size: 100, kind: "artifact" }, 20);
      await store.recordBlob({ orgId: "acme", sha256: h("2"), size: 7, kind: "log" }, 30);
      await store.recordBlob({ orgId: "acme", sha256: h("3"), size: 9, kind: "build" }, 40);
      // A run names h3 again: in use.
      await store.touchBlobs("acme", [h("3"), h("9")], 500);
      const before = await store.blobUsage();
      // One holding per batch: acme's h1 first, while globex still holds it.
      expect(await store.expireBlobs(100, 1)).toEqual({ dropped: 1, orphans: [] });
      expect(await store.findBlob(h("1"), { orgId: "acme" })).toBeNull();
      expect(await store.expireBlobs(100, 5)).toEqual({
        dropped: 2,
        orphans: [h("1"), h("2")],
      });
      expect(await store.expireBlobs(100, 5)).toEqual({ dropped: 0, orphans: [] });
      expect(await store.findBlob(h("3"), { orgId: "acme" })).toMatchObject({
        lastReferencedAt: 500,
      });
      const after = await store.blobUsage();
      expect(before.blobs - after.blobs).toBe(2);
      expect(before.bytes - after.bytes).toBe(107);
    });

    it("shows a blob to the org that holds it and to fleet callers, not to another org", async () => {
      await store.recordBlob({ orgId: "acme", sha256: H1, size: 10, kind: "bundle" }, 1000);
      expect(await store.findBlob(H1, { orgId: "acme" })).toMatchObject({
        orgId: "acme",
        sha256: H1,
        size: 10,
        kind: "bundle",
        createdAt: 1000,
        lastReferencedAt: 1000,
      });
      expect(await store.findBlob(H1, { orgId: null })).toMatchObject({ sha256: H1 });
      expect(await store.findBlob(H1, { orgId: "globex" })).toBeNull();
      expect(await store.findBlob(H2, { orgId: null })).toBeNull();
    });

    it("a second record refreshes the last use and keeps the first creation time", async () => {
      await store.recordBlob({ orgId: "acme", sha256: H2, size: 5, kind: "bundle" }, 1000);
      await store.recordBlob({ orgId: "acme", sha256: H2, size: 5, kind: "bundle" }, 5000);
      await store.recordBlob({ orgId: "acme", sha256: H2, size: 5, kind: "bundle" }, 3000);
      expect(await store.findBlob(H2, { orgId: "acme" })).toMatchObject({
        createdAt: 1000,
        lastReferencedAt: 5000,
      });
      await store.recordBlob({ orgId: "globex", sha256: H2, size: 5, kind: "bundle" }, 6000);
      expect(await store.findBlob(H2, { orgId: "globex" })).toMatchObject({ orgId: "globex" });
    });

    it("keeps a bundle's file list, and the bundle and build a run carries", async () => {
      const files = ["package.json", "tests/a.spec.js"];
      await store.recordBlob({ orgId: "acme", sha256: H3, size: 10, kind: "bundle", files }, 1);
      expect(await store.findBlob(H3, { orgId: "acme" })).toMatchObject({ files });
      const bundle = { sha256: H3, size: 10, files: 2, source_sha: "abc" };
      const build = { sha256: H2, size: 5, name: "app.apk" };
      const input = {
        org_id: "acme",
        app_version_id: "v1",
        tests: ["tests/a.spec.js"],
        target: "emulator" as const,
        priority: 5,
        retries: 0,
        max_attempts: 3,
        timeout_s: 60,
        tags: [],
        source: "cli" as const,
      };
      const { run } = await store.submitRun(input, { bundle, build }, 2000);
      const plain = await store.submitRun(input, {}, 2001);
      expect(run).toMatchObject({ bundle, build });
      expect(await store.getRun(run.id, { orgId: "acme" })).toMatchObject({ bundle, build });
      const inputs = await store.runInputs([run.id, plain.run.id, "run_nothere0000000"]);
      expect(Object.fromEntries(inputs)).toEqual({
        [run.id]: { bundle, build },
        [plain.run.id]: { bundle: null, build: null },
      });
      expect(await store.runInputs([])).toEqual(new Map());
    });
  });
}
