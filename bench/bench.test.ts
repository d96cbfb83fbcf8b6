import { describe, expect, it } from "vitest";
import { dispatchSection, flatnessSection } from "./dispatch.js";
import { apiThroughput } from "./http.js";
import { liveSection } from "./live.js";
import { queueSpeed } from "./queue.js";
import { scale } from "./scale.js";
import { summary } from "./table.js";
import { waitingSection } from "./waiting.js";

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

  it("times submissions with none and with N agents long-polling, on both engines", async () => {
    const rows = await waitingSection({ waiting: 3, samples: 2 });
    expect(rows.map((r) => [r.engine, r.waiting])).toEqual([
      ["sqlite", 0],
      ["sqlite", 3],
      ["postgres", 0],
      ["postgres", 3],
    ]);
    for (const r of rows)
      expect(r.p99Ms, `${r.engine} ${r.waiting}`).toBeGreaterThanOrEqual(r.p50Ms);
  }, 60_000);

  it("dispatches with qgjob (both engines, in process and over HTTP) beside its peers", async () => {
    const d = await dispatchSection({ workers: [2], depth: 20, seconds: 0.3, wakeups: 2 });
    expect(d.rows.map((r) => r.name)).toEqual([
      "qgjob sqlite in process",
      "qgjob sqlite over HTTP",
      "qgjob postgres in process",
      "qgjob postgres over HTTP",
      "graphile-worker",
      "pg-boss",
      "bullmq",
      "plainjob",
    ]);
    for (const r of d.rows) expect(r.jobsPerSecond, r.name).toBeGreaterThan(0);
    expect(d.wakeups.map((r) => r.name)).toEqual([
      "qgjob sqlite over HTTP",
      "qgjob postgres over HTTP",
      "graphile-worker",
      "pg-boss",
      "bullmq",
      "plainjob",
    ]);
    for (const r of d.wakeups) expect(r.p99Ms, r.name).toBeGreaterThanOrEqual(r.p50Ms);
    const targets = summary({ dispatch: d }).map((t) => t.target);
    expect(targets).toContain("Postgres, 2 workers, one-job leases >= 0.5x graphile-worker");
  }, 180_000);

  it("sweeps dispatch in process over queue depth and fleet size on both engines", async () => {
    const f = await flatnessSection({
      depths: [20, 200],
      fleets: [2, 20],
      fleetDepth: 20,
      workers: 2,
      seconds: 0.3,
    });
    expect(f.depths.map((r) => [r.engine, r.groups, r.agents])).toEqual([
      ["sqlite", 20, 2],
      ["sqlite", 200, 2],
      ["postgres", 20, 2],
      ["postgres", 200, 2],
    ]);
    expect(f.fleets.map((r) => [r.engine, r.groups, r.agents])).toEqual([
      ["sqlite", 20, 2],
      ["sqlite", 20, 20],
      ["postgres", 20, 2],
      ["postgres", 20, 20],
    ]);
    for (const r of [...f.depths, ...f.fleets]) {
      expect(r.jobsPerSecond, `${r.engine} ${r.groups} ${r.agents}`).toBeGreaterThan(0);
      expect(r.seedSeconds).toBeGreaterThanOrEqual(0);
    }
    const targets = summary({ flatness: f }).map((t) => t.target);
    expect(targets).toEqual([
      "sqlite, 2 workers, from 20 to 200 groups: jobs/s within 25% of 20's",
      "postgres, 2 workers, from 20 to 200 groups: jobs/s within 25% of 20's",
      "sqlite, 2 workers, from 2 to 20 agents: jobs/s within 25% of 2's",
      "postgres, 2 workers, from 2 to 20 agents: jobs/s within 25% of 2's",
    ]);
  }, 60_000);

  it("leases from a seeded deep queue on a server process and reads its memory", async () => {
    const [row] = await scale([2_000], 5);
    expect(row).toMatchObject({ queued: 2_000, leases: 5 });
    expect(row!.leaseP99Ms).toBeGreaterThanOrEqual(row!.leaseP50Ms);
    expect(row!.serverRssMb).toBeGreaterThan(10);
  }, 60_000);

  it("cancels running tests through a real agent and counts a watcher's requests at the server", async () => {
    const live = await liveSection({ cancels: 2, watchS: 2 });
    expect(live.cancel.cancels).toBe(2);
    expect(live.cancel.p99Ms).toBeGreaterThanOrEqual(live.cancel.p50Ms);
    expect(live.watch.map((w) => w.via)).toEqual(["event stream", "polling the wait endpoint"]);
    for (const w of live.watch) expect(w.requests, w.via).toBeGreaterThan(0);
    const targets = summary({ live }).map((t) => t.target);
    expect(targets).toContain("cancel reaches the test within 1 s (p99 <= 1000 ms)");
  }, 120_000);
});
