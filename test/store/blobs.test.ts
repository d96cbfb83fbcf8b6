/** Which org holds which blob, on every engine: SQLite, PGlite and the real Postgres server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../app/store/store.js";
import { enginesUnderTest, type OpenedStore } from "./engines.js";

const H1 = "a".repeat(64);
const H2 = "b".repeat(64);

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
  });
}
