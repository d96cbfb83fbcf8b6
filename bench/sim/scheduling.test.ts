import { describe, expect, it } from "vitest";
import { groupingStrategies } from "../../app/scheduler/grouping.js";
import { fifo } from "./dispatchers.js";
import { simulate } from "./engine.js";
import { fairShareLatencies, lowerBounds, quality } from "./metrics.js";
import { schedulingQuality } from "./scheduling.js";
import { tiny, w1 } from "./workloads.js";

describe("scheduling simulation (smoke)", () => {
  it.each(Object.keys(groupingStrategies))(
    "runs every job of a tiny workload through the store with grouping %s",
    async (grouping) => {
      const report = await schedulingQuality(tiny(), grouping);
      const bound = report.lowerBounds;
      expect(report.qgjob.installs).toBeGreaterThanOrEqual(bound.installs);
      expect(report.qgjob.installs).toBeLessThan(report.fifoReinstall.installs);
      expect(report.qgjob.makespanMs).toBeGreaterThanOrEqual(bound.makespanMs);
      expect(report.qgjob.utilisation).toBeGreaterThan(0);
      expect(report.qgjob.utilisation).toBeLessThanOrEqual(1);
    },
  );

  it("refuses a grouping strategy that is not registered", async () => {
    await expect(schedulingQuality(tiny(), "by_mood")).rejects.toThrow(
      /unknown grouping "by_mood"/,
    );
  });

  it("installs before every job in the reinstalling FIFO baseline, and less when it may skip", async () => {
    const w = tiny();
    const attempts = w.pushes.flatMap((p) => p.jobs).reduce((n, j) => n + attemptsOf(j), 0);
    const reinstall = await simulate(w, fifo(true));
    const skip = await simulate(w, fifo(false));
    expect(reinstall.installs).toBe(attempts);
    expect(skip.installs).toBeLessThan(reinstall.installs);
    expect(skip.installs).toBeGreaterThanOrEqual(lowerBounds(w).installs);
  });

  it("replays the same workload to the same numbers", async () => {
    const a = quality(tiny(), await simulate(tiny(), fifo(false)));
    const b = quality(tiny(), await simulate(tiny(), fifo(false)));
    expect(b).toEqual(a);
  });
});

describe("workload W1", () => {
  it("is 2,000 jobs in 40 pushes of 40 app versions from 3 orgs over 2 hours", () => {
    const w = w1();
    expect(w.pushes).toHaveLength(40);
    expect(w.pushes.reduce((n, p) => n + p.jobs.length, 0)).toBe(2000);
    expect(new Set(w.pushes.map((p) => p.appVersionId)).size).toBe(40);
    const orgs = new Map<string, number>();
    for (const p of w.pushes) orgs.set(p.orgId, (orgs.get(p.orgId) ?? 0) + 1);
    expect([...orgs.values()].sort((a, b) => a - b)).toEqual([4, 12, 24]);
    expect(Math.max(...w.pushes.map((p) => p.at))).toBeLessThan(2 * 3600_000);
    expect(w.fleet).toMatchObject({ emulator: 10, browserstack: 6 });
  });
});

describe("fair share", () => {
  it("gives a lone push on an idle fleet share of its org's devices", () => {
    const w = tiny();
    const lone = { ...w, pushes: w.pushes.slice(0, 1) };
    const [latency] = fairShareLatencies(lone);
    const jobs = lone.pushes[0]!.jobs;
    // One org: the whole fleet is its share, so the push cannot finish before its longest test.
    const longest = Math.max(...jobs.map((j) => j.durationMs));
    expect(latency).toBeGreaterThanOrEqual(longest);
  });
});

function attemptsOf(job: { failsOnAttempt: boolean[] }): number {
  const firstPass = job.failsOnAttempt.indexOf(false);
  return firstPass === -1 ? job.failsOnAttempt.length : firstPass + 1;
}
