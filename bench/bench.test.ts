import { describe, expect, it } from "vitest";
import { dispatchSpeed } from "./dispatch.js";
import { apiThroughput } from "./http.js";
import { queueSpeed } from "./queue.js";
import { scale } from "./scale.js";
import { summary } from "./table.js";

// Tiny runs of each measured section, so that the benchmark cannot rot. Speed is not asserted.
describe("bench sections (smoke)", () => {
  it("measures API throughput against the bare server over loopback", async () => {
    const rows = await apiThroughput(0.3, 1);
    const byName = Object.fromEntries(rows.map((r) => [r.workload.split(",")[0], r]));
    for (const name of [
      "baseline: bare node:http",
      "submit 1 test per request",
      "submit 100 tests per request",
      "lease+start+result cycles",
    ]) {
      expect(byName[name]?.perSecond, name).toBeGreaterThan(0);
    }
    const targets = summary({ http: rows });
    expect(targets).toHaveLength(1);
    expect(targets[0]!.target).toMatch(/0.40x bare/);
  }, 60_000);

  it("drains the same jobs through qgjob's store and plainjob", async () => {
    const rows = await queueSpeed(100, 1);
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r.qgjobPerSecond, r.workload).toBeGreaterThan(0);
      expect(r.plainjobPerSecond, r.workload).toBeGreaterThan(0);
    }
  }, 60_000);

  it("dispatches one-job leases in process on SQLite and Postgres", async () => {
    const rows = await dispatchSpeed([2], 20, 0.3);
    expect(rows.map((r) => r.engine)).toEqual(["sqlite", "postgres"]);
    for (const r of rows) expect(r.jobsPerSecond, r.engine).toBeGreaterThan(0);
  }, 60_000);

  it("leases from a seeded deep queue on a server process and reads its memory", async () => {
    const [row] = await scale([2_000], 5);
    expect(row).toMatchObject({ queued: 2_000, leases: 5 });
    expect(row!.leaseP99Ms).toBeGreaterThanOrEqual(row!.leaseP50Ms);
    expect(row!.serverRssMb).toBeGreaterThan(10);
  }, 60_000);
});
