import { describe, expect, it } from "vitest";
import { byAppVersion, byAppVersionAndDevice, groupingStrategies, groupJobs } from "./grouping.js";
import { queuedJob } from "./testing.js";
import type { GroupingStrategy, QueuedJob } from "./types.js";

const job = queuedJob;

describe("grouping strategies: which jobs share one install", () => {
  it.each<{
    name: string;
    a: Partial<QueuedJob>;
    b: Partial<QueuedJob>;
    strategy: GroupingStrategy;
    together: boolean;
  }>([
    {
      name: "jobs differing only in device share a group by app version",
      a: { device: "Pixel 7" },
      b: { device: "Galaxy S24" },
      strategy: byAppVersion,
      together: true,
    },
    {
      name: "jobs differing only in device are apart by app version and device",
      a: { device: "Pixel 7" },
      b: { device: "Galaxy S24" },
      strategy: byAppVersionAndDevice,
      together: false,
    },
    {
      name: "a pinned job and an any-device job are apart by app version and device",
      a: { device: "Pixel 7" },
      b: { device: null },
      strategy: byAppVersionAndDevice,
      together: false,
    },
    {
      name: "two any-device jobs share a group by app version and device",
      a: { device: null },
      b: { device: null },
      strategy: byAppVersionAndDevice,
      together: true,
    },
    {
      name: "different orgs never share a group (app version)",
      a: { orgId: "acme" },
      b: { orgId: "globex" },
      strategy: byAppVersion,
      together: false,
    },
    {
      name: "different orgs never share a group (app version and device)",
      a: { orgId: "acme" },
      b: { orgId: "globex" },
      strategy: byAppVersionAndDevice,
      together: false,
    },
    {
      name: "different targets never share a group (app version)",
      a: { target: "emulator" },
      b: { target: "device" },
      strategy: byAppVersion,
      together: false,
    },
    {
      name: "different targets never share a group (app version and device)",
      a: { target: "emulator" },
      b: { target: "browserstack" },
      strategy: byAppVersionAndDevice,
      together: false,
    },
    {
      name: "different app versions never share a group",
      a: { appVersionId: "v1" },
      b: { appVersionId: "v2" },
      strategy: byAppVersion,
      together: false,
    },
    {
      name: "repo, tags, test path and priority do not split a group",
      a: { repo: "web", tags: ["smoke"], testPath: "a.spec.ts", priority: 0 },
      b: { repo: "api", tags: [], testPath: "b.spec.ts", priority: 3 },
      strategy: byAppVersion,
      together: true,
    },
  ])("$name", ({ a, b, strategy, together }) => {
    expect(groupJobs([job(a), job(b)], strategy)).toHaveLength(together ? 1 : 2);
  });

  it.each([
    { strategy: byAppVersion, device: "Pixel 7", key: "acme|v1|emulator" },
    { strategy: byAppVersionAndDevice, device: "Pixel 7", key: "acme|v1|emulator|Pixel 7" },
    { strategy: byAppVersionAndDevice, device: null, key: "acme|v1|emulator|*" },
  ])("$strategy.name keys a job on device $device as $key", ({ strategy, device, key }) => {
    expect(strategy.keyOf(job({ device }))).toBe(key);
  });

  it.each([
    { name: "app_version", strategy: byAppVersion },
    { name: "app_version_device", strategy: byAppVersionAndDevice },
    { name: "by_tag", strategy: undefined },
  ])("the configured name $name selects its strategy", ({ name, strategy }) => {
    expect(groupingStrategies[name]).toBe(strategy);
  });
});

describe("groupJobs: the order and totals of a group", () => {
  it.each<{ name: string; jobs: Partial<QueuedJob>[]; order: string[] }>([
    {
      name: "higher priority first",
      jobs: [
        { id: "low", priority: 0 },
        { id: "high", priority: 1 },
      ],
      order: ["high", "low"],
    },
    {
      name: "then the longest test first",
      jobs: [
        { id: "short", expectedMs: 10 },
        { id: "long", expectedMs: 90 },
      ],
      order: ["long", "short"],
    },
    {
      name: "then the job queued first",
      jobs: [
        { id: "new", queuedAt: 20 },
        { id: "old", queuedAt: 10 },
      ],
      order: ["old", "new"],
    },
    {
      name: "then by id, so the order never depends on the queue",
      jobs: [{ id: "b" }, { id: "a" }],
      order: ["a", "b"],
    },
  ])("orders jobs: $name", ({ jobs, order }) => {
    const [group] = groupJobs(jobs.map(job), byAppVersion);
    expect(group?.jobs.map((j) => j.id)).toEqual(order);
  });

  it.each([
    {
      name: "a group carries its most urgent priority, its oldest wait and its total work",
      jobs: [
        job({ priority: 1, queuedAt: 300, expectedMs: 10_000 }),
        job({ priority: 4, queuedAt: 100, expectedMs: 20_000 }),
        job({ priority: 2, queuedAt: 200, expectedMs: 30_000 }),
      ],
      totals: {
        key: "acme|v1|emulator",
        orgId: "acme",
        appVersionId: "v1",
        target: "emulator",
        priority: 4,
        oldestQueuedAt: 100,
        workMs: 60_000,
      },
    },
    {
      name: "a group of one job takes that job's values",
      jobs: [
        job({
          orgId: "globex",
          appVersionId: "v9",
          target: "device",
          priority: -1,
          queuedAt: 5,
          expectedMs: 7,
        }),
      ],
      totals: {
        key: "globex|v9|device",
        orgId: "globex",
        appVersionId: "v9",
        target: "device",
        priority: -1,
        oldestQueuedAt: 5,
        workMs: 7,
      },
    },
  ])("$name", ({ jobs, totals }) => {
    const groups = groupJobs(jobs, byAppVersion);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject(totals);
  });

  it.each([
    { name: "no jobs give no groups", jobs: [], keys: [] },
    {
      name: "groups come out sorted by key whatever the queue order",
      jobs: [job({ appVersionId: "v3" }), job({ appVersionId: "v1" }), job({ appVersionId: "v2" })],
      keys: ["acme|v1|emulator", "acme|v2|emulator", "acme|v3|emulator"],
    },
  ])("$name", ({ jobs, keys }) => {
    expect(groupJobs(jobs, byAppVersion).map((g) => g.key)).toEqual(keys);
  });
});
