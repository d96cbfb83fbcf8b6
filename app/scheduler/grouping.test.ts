import { describe, expect, it } from "vitest";
import {
  byAppVersion,
  byAppVersionAndDevice,
  byAppVersionAndRepo,
  byAppVersionAndTags,
  groupingStrategies,
  groupJobs,
} from "./grouping.js";
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
      name: "jobs from different repos are apart by app version and repo",
      a: { repo: "acme/web" },
      b: { repo: "acme/api" },
      strategy: byAppVersionAndRepo,
      together: false,
    },
    {
      name: "jobs from one repo share a group by app version and repo",
      a: { repo: "acme/web", tags: ["smoke"], device: "Pixel 7" },
      b: { repo: "acme/web", tags: [], device: null },
      strategy: byAppVersionAndRepo,
      together: true,
    },
    {
      name: "a job with no repo and one with a repo are apart by app version and repo",
      a: { repo: null },
      b: { repo: "acme/web" },
      strategy: byAppVersionAndRepo,
      together: false,
    },
    {
      name: "an empty repo counts as no repo",
      a: { repo: null },
      b: { repo: "" },
      strategy: byAppVersionAndRepo,
      together: true,
    },
    {
      name: "one repo's jobs for two app versions are apart: each needs its own install",
      a: { repo: "acme/web", appVersionId: "v1" },
      b: { repo: "acme/web", appVersionId: "v2" },
      strategy: byAppVersionAndRepo,
      together: false,
    },
    {
      name: "one repo's jobs in two orgs are apart",
      a: { repo: "acme/web", orgId: "acme" },
      b: { repo: "acme/web", orgId: "globex" },
      strategy: byAppVersionAndRepo,
      together: false,
    },
    {
      name: "one repo's jobs on two targets are apart",
      a: { repo: "acme/web", target: "emulator" },
      b: { repo: "acme/web", target: "device" },
      strategy: byAppVersionAndRepo,
      together: false,
    },
    {
      name: "smoke tests are apart from untagged tests by app version and tags",
      a: { tags: ["@smoke"] },
      b: { tags: [] },
      strategy: byAppVersionAndTags,
      together: false,
    },
    {
      name: "smoke tests are apart from regression tests",
      a: { tags: ["@smoke"] },
      b: { tags: ["@regression"] },
      strategy: byAppVersionAndTags,
      together: false,
    },
    {
      name: "@smoke and smoke are one tag",
      a: { tags: ["@smoke"] },
      b: { tags: ["smoke"] },
      strategy: byAppVersionAndTags,
      together: true,
    },
    {
      name: "the order and repeats of tags do not matter",
      a: { tags: ["@smoke", "@login"] },
      b: { tags: ["login", "@smoke", "smoke"] },
      strategy: byAppVersionAndTags,
      together: true,
    },
    {
      name: "a job with one more tag is apart",
      a: { tags: ["@smoke", "@login"] },
      b: { tags: ["@smoke"] },
      strategy: byAppVersionAndTags,
      together: false,
    },
    {
      name: "smoke tests of two app versions are apart: each needs its own install",
      a: { tags: ["@smoke"], appVersionId: "v1" },
      b: { tags: ["@smoke"], appVersionId: "v2" },
      strategy: byAppVersionAndTags,
      together: false,
    },
    {
      name: "smoke tests of two orgs are apart",
      a: { tags: ["@smoke"], orgId: "acme" },
      b: { tags: ["@smoke"], orgId: "globex" },
      strategy: byAppVersionAndTags,
      together: false,
    },
    {
      name: "smoke tests on two targets are apart",
      a: { tags: ["@smoke"], target: "emulator" },
      b: { tags: ["@smoke"], target: "browserstack" },
      strategy: byAppVersionAndTags,
      together: false,
    },
    {
      name: "repo, device and test path do not split a group by app version and tags",
      a: { tags: ["@smoke"], repo: "acme/web", device: "Pixel 7", testPath: "a.spec.ts" },
      b: { tags: ["@smoke"], repo: "acme/api", device: null, testPath: "b.spec.ts" },
      strategy: byAppVersionAndTags,
      together: true,
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

  it.each<{ strategy: GroupingStrategy; job: Partial<QueuedJob>; key: string }>([
    { strategy: byAppVersionAndRepo, job: { repo: "acme/web" }, key: "acme|v1|emulator|acme/web" },
    { strategy: byAppVersionAndRepo, job: { repo: null }, key: "acme|v1|emulator|*" },
    {
      strategy: byAppVersionAndTags,
      job: { tags: ["@smoke", "login", "@smoke"] },
      key: "acme|v1|emulator|login,smoke",
    },
    { strategy: byAppVersionAndTags, job: { tags: [] }, key: "acme|v1|emulator|*" },
  ])("$strategy.name keys $job as $key", ({ strategy, job: fields, key }) => {
    expect(strategy.keyOf(job(fields))).toBe(key);
  });

  it("a group by tags is led by its org, app version and target, whatever its tags", () => {
    const groups = groupJobs(
      [job({ orgId: "globex", appVersionId: "v7", target: "device", tags: ["@smoke"] })],
      byAppVersionAndTags,
    );
    expect(groups[0]).toMatchObject({ orgId: "globex", appVersionId: "v7", target: "device" });
  });

  it.each([
    { name: "app_version", strategy: byAppVersion },
    { name: "app_version_device", strategy: byAppVersionAndDevice },
    { name: "app_version_repo", strategy: byAppVersionAndRepo },
    { name: "app_version_tags", strategy: byAppVersionAndTags },
    { name: "by_branch", strategy: undefined },
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
