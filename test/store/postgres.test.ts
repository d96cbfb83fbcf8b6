/**
 * What only a shared Postgres server shows: replicas migrating at the same moment, long polls on
 * one replica woken by a change made through another, and recovery after the database drops the
 * connections. Runs on the real server (see enginesUnderTest for when it is left out).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { SubmitRunRequest } from "../../api/schemas.js";
import { MIGRATIONS, openPool } from "../../app/store/postgres/database.js";
import { openPostgresStore } from "../../app/store/postgres/open.js";
import type { Store } from "../../app/store/store.js";
import { createTestSchema, enginesUnderTest, POSTGRES_URL, testStoreOptions } from "./engines.js";

const runReal = (await enginesUnderTest()).some((e) => e.name === "postgres");
const suites = runReal ? [describe] : [];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A schema of its own, tagged with an application name so its connections can be found. */
async function replicaUrl() {
  const schema = await createTestSchema();
  cleanups.push(schema.drop);
  const app = `qgjob_test_${randomBytes(4).toString("hex")}`;
  const url = new URL(schema.url);
  url.searchParams.set("application_name", app);
  return { url: url.toString(), app };
}

async function replica(url: string): Promise<Store> {
  const store = await openPostgresStore(
    { url, poolMax: 4, statementTimeoutMs: 10_000 },
    testStoreOptions(),
  );
  cleanups.push(() => store.close());
  return store;
}

async function admin<T extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const submit = (store: Store, now = Date.now()) =>
  store.submitRun(
    SubmitRunRequest.parse({ org_id: "acme", app_version_id: "v1", tests: ["a.spec.ts"] }),
    {},
    now,
  );

for (const suite of suites) {
  suite("Postgres with several replicas", () => {
    it("migrates once when replicas start at the same moment", async () => {
      const { url } = await replicaUrl();
      const stores = await Promise.all([replica(url), replica(url), replica(url)]);
      const schema = new URL(url).searchParams.get("options")!.split("=")[1]!;
      const applied = await admin(`select count(*)::int as n from ${schema}.__drizzle_migrations`);
      const journal = JSON.parse(readFileSync(join(MIGRATIONS, "meta/_journal.json"), "utf8")) as {
        entries: unknown[];
      };
      expect(applied[0]!.n).toBe(journal.entries.length);
      await submit(stores[0]!);
      expect((await stores[2]!.metrics(Date.now())).queuedByTarget.emulator).toBe(1);
    });

    it("wakes a long poll on one replica when another queues work", async () => {
      const { url } = await replicaUrl();
      const [a, b] = [await replica(url), await replica(url)];
      const woke = b.changes.wait("work", 10_000);
      const started = Date.now();
      await submit(a);
      expect(await woke).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("settles each expired lease once when every replica reaps at the same moment", async () => {
      const { url } = await replicaUrl();
      const stores = [await replica(url), await replica(url), await replica(url)];
      const now = Date.now();
      const leases = 12;
      for (let i = 0; i < leases; i++) {
        await stores[0]!.submitRun(
          SubmitRunRequest.parse({
            org_id: "acme",
            app_version_id: `v${i}`,
            tests: ["a.spec.ts", "b.spec.ts"],
          }),
          {},
          now,
        );
        const agent = await stores[i % 3]!.registerAgent(
          { name: `a${i}`, target: "emulator", device: null, labels: [], installed: [`v${i}`] },
          { orgId: null },
          now,
        );
        expect(await stores[i % 3]!.claimLease(agent.id, now)).not.toBeNull();
      }
      const late = now + 10 * stores[0]!.options.leaseTtlMs;
      const reports = await Promise.all([...stores, ...stores].map((s) => s.reapExpired(late)));
      expect(reports.reduce((n, r) => n + r.expiredLeases, 0)).toBe(leases);
      expect(reports.reduce((n, r) => n + r.requeued, 0)).toBe(2 * leases);
      const jobs = await stores[1]!.listJobs({ org_id: "acme", limit: 100 }, { orgId: null });
      expect(jobs.items.map((j) => [j.status, j.attempts])).toEqual(
        Array.from({ length: 2 * leases }, () => ["queued", 1]),
      );
    });

    it("has the server cancel a statement that runs past the timeout", async () => {
      const { url } = await replicaUrl();
      const { pool } = openPool({ url, poolMax: 1, statementTimeoutMs: 200 });
      cleanups.push(() => pool.end());
      await expect(pool.query("select pg_sleep(2)")).rejects.toMatchObject({ code: "57014" });
      expect((await pool.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    });

    it("reads a run's page as one snapshot: a job that ends between its statements shows in neither its row nor the counts", async () => {
      const { url } = await replicaUrl();
      const store = await replica(url);
      const { run, jobs } = await submit(store);
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      cleanups.push(() => other.end());
      // The job fails, from another connection, just before the page's counts are read.
      const original = pg.Client.prototype.query;
      let ended = false;
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const config = args[0] as string | { text: string };
        const text = typeof config === "string" ? config : config.text;
        if (ended || this === other || !text.includes("count(*)")) {
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        }
        ended = true;
        return other
          .query("update jobs set status = 'failed', finished_at = $2 where id = $1", [
            jobs[0]!.id,
            Date.now(),
          ])
          .then(() => (original as (...a: unknown[]) => unknown).apply(this, args));
      } as typeof original;
      let page;
      try {
        page = (await store.getRunPage(run.id, { orgId: null }, { limit: 10 }))!;
      } finally {
        pg.Client.prototype.query = original;
      }
      expect(ended).toBe(true);
      expect(page.jobs.map((j) => j.status)).toEqual(["queued"]);
      expect(page.counts).toMatchObject({ queued: 1, failed: 0 });
      expect(page.finishedAt).toBeNull();
    });

    it("recovers after the database drops its connections", async () => {
      const { url, app } = await replicaUrl();
      const [a, b] = [await replica(url), await replica(url)];
      await b.ping();
      const killed = await admin<{ ok: boolean }>(
        "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1",
        [app],
      );
      expect(killed.length).toBeGreaterThanOrEqual(3);
      // The pools replace dead connections; the listener reconnects and LISTENs again.
      await b.ping();
      const deadline = Date.now() + 15_000;
      for (;;) {
        const woke = b.changes.wait("work", 1000);
        await submit(a);
        if (await woke) break;
        if (Date.now() > deadline) throw new Error("the listener never came back");
      }
      // Back on LISTEN (a reconnect also wakes its own polls once): a notification gets through.
      const woke = b.changes.wait("work", 5000);
      await submit(a);
      expect(await woke).toBe(true);
      expect((await b.metrics(Date.now())).queuedByTarget.emulator).toBeGreaterThanOrEqual(1);
    });
  });
}
