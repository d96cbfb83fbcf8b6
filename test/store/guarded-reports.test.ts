/**
 * Starts and results on real Postgres as a read and one guarded statement
 * (app/store/postgres/guarded-reports.ts): the round trips they take, and what happens when
 * another transaction changes the lease, the job or the test's history between the read and
 * the write.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SubmitRunRequest } from "../../api/schemas.js";
import type { LeaseGrant, Store } from "../../app/store/store.js";
import { enginesUnderTest, statementsOf, waitingOnReader, type OpenedStore } from "./engines.js";

const T0 = Date.UTC(2026, 11, 7, 12);
const TEST = "flows/login.spec.ts";

const passed = (grant: LeaseGrant) => ({
  attempt: grant.jobs[0]!.attempts,
  status: "passed" as const,
  duration_ms: 1000,
  artifacts: [],
});

for (const engine of (await enginesUnderTest()).filter((e) => e.name === "postgres")) {
  describe(`guarded starts and results: ${engine.name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    let version = 0;
    beforeAll(async () => {
      opened = await engine.open();
      store = opened.store;
    });
    afterAll(() => opened?.dispose());
    afterEach(() => opened.rows("rollback").catch(() => undefined));

    /** A one-job run of `test`, leased by a new agent of `org`. */
    async function leased(org: string, test = TEST): Promise<LeaseGrant> {
      await store.submitRun(
        SubmitRunRequest.parse({ org_id: org, app_version_id: `v${version++}`, tests: [test] }),
        {},
        T0,
      );
      const agent = await store.registerAgent(
        { name: `a${version}`, target: "emulator", device: null, labels: [], installed: [] },
        { orgId: org },
        T0,
      );
      return (await store.claimLease(agent.id, T0))!;
    }

    async function finished(org: string) {
      const grant = await leased(org);
      await store.startJob(grant.lease.id, grant.jobs[0]!.id, 1, T0 + 1);
      await store.reportResult(grant.lease.id, grant.jobs[0]!.id, passed(grant), T0 + 2);
    }

    const runsOf = async (org: string) =>
      Number((await opened.rows(`select runs from test_history where org_id = '${org}'`))[0]?.runs);

    it("a start and a passing result take two statements each, without BEGIN or COMMIT", async () => {
      const org = "org_trips";
      await finished(org);
      const grant = await leased(org);
      const job = grant.jobs[0]!;
      const start = await statementsOf(() => store.startJob(grant.lease.id, job.id, 1, T0 + 1));
      const result = await statementsOf(() =>
        store.reportResult(grant.lease.id, job.id, passed(grant), T0 + 2),
      );
      expect(start).toHaveLength(2);
      expect(result).toHaveLength(2);
      expect([...start, ...result].filter((s) => /^\s*(begin|commit)/i.test(s))).toEqual([]);
      expect((await store.getJob(job.id, { orgId: null }))?.status).toBe("passed");
      expect(await runsOf(org)).toBe(2);
      const [lease] = await opened.rows(
        `select end_reason from leases where id = '${grant.lease.id}'`,
      );
      expect(lease?.end_reason).toBe("completed");
    });

    it("a start that loses the lease to a release while it writes is refused; the job stays queued", async () => {
      const grant = await leased("org_release");
      const job = grant.jobs[0]!;
      // The release locks the lease and waits on the job; the start has read the lease as live
      // and waits on the lease for its write.
      await opened.rows("begin");
      await opened.rows(`select 1 from jobs where id = '${job.id}' for update`);
      const release = store.releaseLease(grant.lease.id, T0 + 1);
      await waitingOnReader(opened, 1);
      const start = store.startJob(grant.lease.id, job.id, 1, T0 + 1);
      await waitingOnReader(opened, 2);
      await opened.rows("commit");

      expect(await release).toBe(1);
      await expect(start).rejects.toMatchObject({ code: "stale_lease" });
      const [row] = await opened.rows(`select status, lease_id from jobs where id = '${job.id}'`);
      expect(row).toEqual({ status: "queued", lease_id: null });
      expect(await opened.rows(`select 1 from job_attempts where job_id = '${job.id}'`)).toEqual(
        [],
      );
    });

    it("two results of one test written at once both count in its history", async () => {
      const org = "org_history";
      await finished(org);
      const grants = [await leased(org), await leased(org)];
      for (const g of grants) await store.startJob(g.lease.id, g.jobs[0]!.id, 1, T0 + 1);
      // Both read the history row (one run) before either writes: each write waits on it.
      await opened.rows("begin");
      await opened.rows(`select 1 from test_history where org_id = '${org}' for update`);
      const results = grants.map((g) =>
        store.reportResult(g.lease.id, g.jobs[0]!.id, passed(g), T0 + 2),
      );
      await waitingOnReader(opened, 2);
      await opened.rows("commit");

      const outcomes = await Promise.all(results);
      expect(outcomes.map((o) => o.job.status)).toEqual(["passed", "passed"]);
      expect(await runsOf(org)).toBe(3);
    });

    it("results of a new test posted all at once fold into one history row without a deadlock", async () => {
      const org = "org_first_runs";
      // Another test of the org has run: its usage row exists, as in any busy org.
      await finished(org);
      const deadlocks = countDeadlocks();
      try {
        for (const test of ["flows/new-a.spec.ts", "flows/new-b.spec.ts", "flows/new-c.spec.ts"]) {
          const grants: LeaseGrant[] = [];
          for (let i = 0; i < 12; i++) grants.push(await leased(org, test));
          for (const g of grants) await store.startJob(g.lease.id, g.jobs[0]!.id, 1, T0 + 1);
          await Promise.all(
            grants.map((g) => store.reportResult(g.lease.id, g.jobs[0]!.id, passed(g), T0 + 2)),
          );
          const [row] = await opened.rows(
            `select runs from test_history where org_id = '${org}' and test_path = '${test}'`,
          );
          expect(Number(row?.runs)).toBe(12);
        }
      } finally {
        deadlocks.stop();
      }
      expect(deadlocks.seen).toBe(0);
    });
  });
}

/** Counts statements of this process's pg clients that Postgres ended as deadlocked (40P01). */
function countDeadlocks() {
  const counter = { seen: 0, stop: () => {} };
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const last = args.at(-1);
    if (typeof last === "function") {
      args[args.length - 1] = (err: { code?: string } | null, ...rest: unknown[]) => {
        if (err?.code === "40P01") counter.seen++;
        return (last as (...a: unknown[]) => unknown)(err, ...rest);
      };
    }
    const sent = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (sent instanceof Promise) {
      sent.catch((err: { code?: string }) => {
        if (err?.code === "40P01") counter.seen++;
      });
    }
    return sent;
  } as typeof original;
  counter.stop = () => (pg.Client.prototype.query = original);
  return counter;
}
