import { describe, expect, it } from "vitest";
import {
  byAppVersion,
  byAppVersionAndDevice,
  byAppVersionAndRepo,
  byAppVersionAndTags,
} from "./grouping.js";
import { DEFAULT_SCHEDULER_CONFIG, decide } from "./policy.js";
import { queuedJob } from "./testing.js";
import type {
  Decision,
  DecisionReason,
  GroupingStrategy,
  QueuedJob,
  SchedulerConfig,
} from "./types.js";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const NOW = Date.UTC(2025, 0, 1, 12);
const ago = (ms: number) => NOW - ms;

const job = (overrides: Partial<QueuedJob> = {}): QueuedJob =>
  queuedJob({ appVersionId: "X", queuedAt: ago(MINUTE), ...overrides });

function jobs(count: number, overrides: Partial<QueuedJob> = {}): QueuedJob[] {
  return Array.from({ length: count }, () => job(overrides));
}

interface Scenario {
  queued: QueuedJob[];
  installed?: string[];
  usage?: Record<string, number>;
  /** Idle fleet agents (default 1). */
  idleAgents?: number;
  /** Idle agents that serve only one org. */
  idleByOrg?: Record<string, number>;
  /** Live fleet agents, busy or idle (default: the idle ones). */
  live?: number;
  /** Fleet agents holding a lease, by org. */
  busyByOrg?: Record<string, number>;
  config?: Partial<SchedulerConfig>;
  strategy?: GroupingStrategy;
}

function run(scenario: Scenario): Decision {
  const decision = decide(
    {
      now: NOW,
      agent: {
        id: "agent-1",
        target: scenario.queued[0]?.target ?? "emulator",
        device: null,
        installed: scenario.installed ?? [],
      },
      queued: scenario.queued,
      orgUsageMs: new Map(Object.entries(scenario.usage ?? {})),
      idleAgents: {
        fleet: scenario.idleAgents ?? 1,
        byOrg: new Map(Object.entries(scenario.idleByOrg ?? {})),
      },
      fleet: {
        live: scenario.live ?? scenario.idleAgents ?? 1,
        busyByOrg: new Map(Object.entries(scenario.busyByOrg ?? {})),
      },
    },
    { ...DEFAULT_SCHEDULER_CONFIG, ...scenario.config },
    scenario.strategy ?? byAppVersion,
  );
  if (!decision) throw new Error("expected a decision");
  return decision;
}

interface RankingCase extends Scenario {
  name: string;
  /** App version of the group the agent should get. */
  winner: string;
  reason: DecisionReason;
}

function itRanks(cases: RankingCase[]) {
  it.each(cases)("$name", (c) => {
    const decision = run(c);
    expect({ winner: decision.appVersionId, reason: decision.reason }).toEqual({
      winner: c.winner,
      reason: c.reason,
    });
  });
}

describe("decide: objective 1, never starve", () => {
  itRanks([
    {
      name: "a starving group of an org on more than its fair share waits for a quieter org",
      queued: [
        job({ orgId: "big", appVersionId: "B", queuedAt: ago(40 * MINUTE) }),
        job({ orgId: "small", appVersionId: "S" }),
      ],
      usage: { big: 60 * MINUTE },
      live: 10,
      busyByOrg: { big: 9 },
      winner: "S",
      reason: "fair_share",
    },
    {
      name: "a starving group of an org below its fair share still goes first",
      queued: [
        job({ orgId: "big", appVersionId: "B", queuedAt: ago(40 * MINUTE) }),
        job({ orgId: "small", appVersionId: "S" }),
      ],
      usage: { big: 60 * MINUTE },
      live: 10,
      busyByOrg: { big: 2, small: 7 },
      winner: "B",
      reason: "starving",
    },
    {
      name: "a group past the starvation bound beats a higher-priority group",
      queued: [
        job({ appVersionId: "X", priority: 5 }),
        job({ appVersionId: "Y", queuedAt: ago(16 * MINUTE) }),
      ],
      winner: "Y",
      reason: "starving",
    },
    {
      name: "a group just short of the bound still waits for higher priority",
      queued: [
        job({ appVersionId: "X", priority: 5 }),
        job({ appVersionId: "Y", queuedAt: ago(14 * MINUTE) }),
      ],
      winner: "X",
      reason: "priority",
    },
    {
      name: "a job that has waited exactly the bound is starving",
      queued: [
        job({ appVersionId: "X", priority: 5 }),
        job({ appVersionId: "Y", queuedAt: ago(15 * MINUTE) }),
      ],
      winner: "Y",
      reason: "starving",
    },
    {
      name: "among starving groups the oldest wins, whatever its priority",
      queued: [
        job({ appVersionId: "X", priority: 5, queuedAt: ago(20 * MINUTE) }),
        job({ appVersionId: "Y", queuedAt: ago(30 * MINUTE) }),
      ],
      winner: "Y",
      reason: "starving",
    },
    {
      name: "a starving group of a busy org is served before a quiet org",
      queued: [
        job({ orgId: "busy", appVersionId: "X", queuedAt: ago(16 * MINUTE) }),
        job({ orgId: "quiet", appVersionId: "Y" }),
      ],
      usage: { busy: 60 * MINUTE },
      winner: "X",
      reason: "starving",
    },
  ]);
});

describe("decide: objective 2, priority", () => {
  itRanks([
    {
      name: "a higher priority group beats an older lower-priority one",
      queued: [
        job({ appVersionId: "X", priority: 1 }),
        job({ appVersionId: "Y", queuedAt: ago(10 * MINUTE) }),
      ],
      winner: "X",
      reason: "priority",
    },
    {
      name: "a higher priority group beats the version the agent has installed",
      queued: [job({ appVersionId: "X", priority: 1 }), job({ appVersionId: "Y" })],
      installed: ["Y"],
      winner: "X",
      reason: "priority",
    },
    {
      name: "a higher priority group beats a quieter org",
      queued: [
        job({ orgId: "busy", appVersionId: "X", priority: 1 }),
        job({ orgId: "quiet", appVersionId: "Y" }),
      ],
      usage: { busy: 60 * MINUTE },
      winner: "X",
      reason: "priority",
    },
    {
      name: "one urgent job lifts its whole group",
      queued: [
        job({ appVersionId: "X" }),
        job({ appVersionId: "X", priority: 2 }),
        job({ appVersionId: "Y", priority: 1, queuedAt: ago(10 * MINUTE) }),
      ],
      winner: "X",
      reason: "priority",
    },
  ]);
});

describe("decide: objective 3, fair share between orgs", () => {
  itRanks([
    {
      name: "a busy org cannot starve a quiet org, even with an older, installed group",
      queued: [
        job({ orgId: "busy", appVersionId: "X", queuedAt: ago(10 * MINUTE) }),
        job({ orgId: "quiet", appVersionId: "Y" }),
      ],
      installed: ["X"],
      usage: { busy: 60 * MINUTE, quiet: 0 },
      winner: "Y",
      reason: "fair_share",
    },
    {
      name: "an org with no recorded usage counts as having used none",
      queued: [
        job({ orgId: "busy", appVersionId: "X", queuedAt: ago(10 * MINUTE) }),
        job({ orgId: "quiet", appVersionId: "Y" }),
      ],
      usage: { busy: 60 * MINUTE },
      winner: "Y",
      reason: "fair_share",
    },
    {
      name: "usage within the slack falls through to affinity",
      queued: [
        job({ orgId: "busy", appVersionId: "X" }),
        job({ orgId: "quiet", appVersionId: "Y", queuedAt: ago(10 * MINUTE) }),
      ],
      installed: ["X"],
      usage: { busy: MINUTE, quiet: 0 },
      winner: "X",
      reason: "affinity",
    },
    {
      name: "two groups of the same org never compete on usage",
      queued: [
        job({ orgId: "busy", appVersionId: "X" }),
        job({ orgId: "busy", appVersionId: "Y", queuedAt: ago(10 * MINUTE) }),
      ],
      installed: ["X"],
      usage: { busy: 60 * MINUTE },
      winner: "X",
      reason: "affinity",
    },
    {
      name: "the slack is measured from the quietest org",
      queued: [
        job({ orgId: "quiet", appVersionId: "Y", queuedAt: ago(10 * MINUTE) }),
        job({ orgId: "mid", appVersionId: "X" }),
        job({ orgId: "busy", appVersionId: "Z" }),
      ],
      installed: ["Z", "X"],
      usage: { quiet: 0, mid: 90 * SECOND, busy: 3 * MINUTE },
      winner: "X",
      reason: "affinity",
    },
  ]);
});

describe("decide: objective 4, install affinity", () => {
  itRanks([
    {
      name: "an agent with X installed gets X over an older group of Y",
      queued: [job({ appVersionId: "X" }), job({ appVersionId: "Y", queuedAt: ago(10 * MINUTE) })],
      installed: ["X"],
      winner: "X",
      reason: "affinity",
    },
    {
      name: "unless Y has waited past the starvation bound",
      queued: [job({ appVersionId: "X" }), job({ appVersionId: "Y", queuedAt: ago(16 * MINUTE) })],
      installed: ["X"],
      winner: "Y",
      reason: "starving",
    },
    {
      name: "the version the device runs now beats one installed earlier",
      queued: [job({ appVersionId: "X" }), job({ appVersionId: "Y", queuedAt: ago(10 * MINUTE) })],
      installed: ["X", "Y"],
      winner: "X",
      reason: "affinity",
    },
    {
      name: "a version installed earlier beats one never installed",
      queued: [job({ appVersionId: "X", queuedAt: ago(10 * MINUTE) }), job({ appVersionId: "Y" })],
      installed: ["W", "Y"],
      winner: "Y",
      reason: "affinity",
    },
    {
      name: "with nothing installed, the oldest group goes first",
      queued: [job({ appVersionId: "X" }), job({ appVersionId: "Y", queuedAt: ago(10 * MINUTE) })],
      installed: [],
      winner: "Y",
      reason: "oldest",
    },
  ]);
});

describe("decide: tie-break, oldest first", () => {
  itRanks([
    {
      name: "all else equal, the group that has waited longer goes first",
      queued: [job({ appVersionId: "X" }), job({ appVersionId: "Y", queuedAt: ago(2 * MINUTE) })],
      winner: "Y",
      reason: "oldest",
    },
    {
      name: "a lone group is reported as picked on age",
      queued: [job({ appVersionId: "X" })],
      winner: "X",
      reason: "oldest",
    },
    {
      name: "a lone starving group is reported as starving",
      queued: [job({ appVersionId: "X", queuedAt: ago(20 * MINUTE) })],
      winner: "X",
      reason: "starving",
    },
    {
      name: "groups of the same age are ordered by key (queue order Y, X)",
      queued: [job({ appVersionId: "Y" }), job({ appVersionId: "X" })],
      winner: "X",
      reason: "oldest",
    },
    {
      name: "groups of the same age are ordered by key (queue order X, Y)",
      queued: [job({ appVersionId: "X" }), job({ appVersionId: "Y" })],
      winner: "X",
      reason: "oldest",
    },
  ]);

  it("leaves the agent idle when nothing is queued", () => {
    const input = {
      now: NOW,
      agent: { id: "agent-1", target: "emulator" as const, device: null, installed: [] },
      queued: [],
      orgUsageMs: new Map(),
      idleAgents: { fleet: 1, byOrg: new Map() },
      fleet: { live: 1, busyByOrg: new Map() },
    };
    expect(decide(input, DEFAULT_SCHEDULER_CONFIG, byAppVersion)).toBeNull();
  });
});

describe("decide: batch sizing", () => {
  interface SizeCase extends Scenario {
    name: string;
    size: number;
    expectedMs: number;
  }
  it.each<SizeCase>([
    {
      name: "a 200-job group with 4 idle agents gives a batch of 50 (maxBatchJobs)",
      queued: jobs(200),
      idleAgents: 4,
      size: 50,
      expectedMs: 50 * MINUTE,
    },
    {
      name: "a 100-job group with 4 idle agents is split into 4 equal shares",
      queued: jobs(100),
      idleAgents: 4,
      size: 25,
      expectedMs: 25 * MINUTE,
    },
    {
      name: "idle agents of another org do not split a group they can never take",
      queued: jobs(100),
      idleAgents: 1,
      idleByOrg: { other: 4 },
      size: 50,
      expectedMs: 50 * MINUTE,
    },
    {
      name: "the org's own idle agents count, beside the fleet's",
      queued: jobs(100),
      idleAgents: 0,
      idleByOrg: { acme: 4 },
      size: 25,
      expectedMs: 25 * MINUTE,
    },
    {
      name: "a 3-job group stays whole on one device even with 4 idle agents",
      queued: jobs(3),
      idleAgents: 4,
      size: 3,
      expectedMs: 3 * MINUTE,
    },
    {
      name: "with 1 idle agent a big group gives maxBatchJobs",
      queued: jobs(200),
      idleAgents: 1,
      size: 50,
      expectedMs: 50 * MINUTE,
    },
    {
      name: "with 1 idle agent a medium group is taken whole",
      queued: jobs(20),
      idleAgents: 1,
      size: 20,
      expectedMs: 20 * MINUTE,
    },
    {
      name: "an idle count of 0 still gives the asking agent work",
      queued: jobs(20),
      idleAgents: 0,
      size: 20,
      expectedMs: 20 * MINUTE,
    },
    {
      name: "a group is cut in no more shares than it has splitFactor installs of work",
      queued: jobs(8),
      idleAgents: 4,
      size: 4,
      expectedMs: 4 * MINUTE,
    },
    {
      name: "six 1-minute tests are split in two on emulators (45 s installs)",
      queued: jobs(6),
      idleAgents: 4,
      size: 3,
      expectedMs: 3 * MINUTE,
    },
    {
      name: "six 1-minute tests stay whole on BrowserStack (90 s installs)",
      queued: jobs(6, { target: "browserstack" }),
      idleAgents: 4,
      size: 6,
      expectedMs: 6 * MINUTE,
    },
    {
      name: "a lower maxBatchJobs caps even a whole group",
      queued: jobs(3),
      config: { maxBatchJobs: 2 },
      size: 2,
      expectedMs: 2 * MINUTE,
    },
    {
      name: "grouping by device keeps a pinned job out of the any-device batch",
      queued: [job({ device: "Pixel 7" }), job({ device: null, queuedAt: ago(2 * MINUTE) })],
      strategy: byAppVersionAndDevice,
      size: 1,
      expectedMs: MINUTE,
    },
    {
      name: "grouping by repo keeps another repo's job out of the batch",
      queued: [job({ repo: "acme/web" }), job({ repo: "acme/api", queuedAt: ago(2 * MINUTE) })],
      strategy: byAppVersionAndRepo,
      size: 1,
      expectedMs: MINUTE,
    },
    {
      name: "grouping by tags keeps an untagged job out of the smoke batch",
      queued: [
        job({ tags: ["@smoke"], queuedAt: ago(2 * MINUTE) }),
        job({ tags: ["smoke"] }),
        job({ tags: [] }),
      ],
      strategy: byAppVersionAndTags,
      size: 2,
      expectedMs: 2 * MINUTE,
    },
  ])("$name", (c) => {
    const decision = run(c);
    expect({ size: decision.jobIds.length, expectedMs: decision.expectedMs }).toEqual({
      size: c.size,
      expectedMs: c.expectedMs,
    });
  });

  interface OrderCase extends Scenario {
    name: string;
    /** The batch must start with these jobs, in this order. */
    startsWith: string[];
  }
  it.each<OrderCase>([
    {
      name: "the batch runs the longest tests first",
      queued: [
        job({ id: "a", expectedMs: 30 * SECOND }),
        job({ id: "b", expectedMs: 120 * SECOND }),
        job({ id: "c", expectedMs: 60 * SECOND }),
      ],
      startsWith: ["b", "c", "a"],
    },
    {
      name: "a more urgent job runs before a longer one",
      queued: [
        job({ id: "a", expectedMs: 30 * SECOND, priority: 1 }),
        job({ id: "b", expectedMs: 120 * SECOND }),
      ],
      startsWith: ["a", "b"],
    },
    {
      name: "of two equally long tests the one queued first runs first",
      queued: [job({ id: "a" }), job({ id: "b", queuedAt: ago(5 * MINUTE) })],
      startsWith: ["b", "a"],
    },
    {
      name: "a split batch takes the longest tests until it holds its share of the work",
      queued: [
        job({ id: "e", target: "browserstack", expectedMs: 100 * SECOND }),
        job({ id: "a", target: "browserstack", expectedMs: 300 * SECOND }),
        job({ id: "c", target: "browserstack", expectedMs: 100 * SECOND }),
        job({ id: "b", target: "browserstack", expectedMs: 200 * SECOND }),
        job({ id: "d", target: "browserstack", expectedMs: 100 * SECOND }),
      ],
      idleAgents: 4,
      startsWith: ["a", "b"],
    },
    {
      name: "a starving job in a big group is in the first batch, ahead of longer tests",
      queued: [
        ...jobs(199),
        job({ id: "late", expectedMs: 10 * SECOND, queuedAt: ago(20 * MINUTE) }),
      ],
      idleAgents: 4,
      startsWith: ["late"],
    },
    {
      name: "a starving short job runs first in a whole group too",
      queued: [
        job({ id: "long", expectedMs: 120 * SECOND }),
        job({ id: "late", expectedMs: 30 * SECOND, queuedAt: ago(20 * MINUTE) }),
      ],
      startsWith: ["late", "long"],
    },
  ])("$name", (c) => {
    const { jobIds } = run(c);
    expect(jobIds.slice(0, c.startsWith.length)).toEqual(c.startsWith);
  });

  it.each([
    { name: "a version never installed must be installed", installed: [], install: true },
    { name: "the version the device runs needs no install", installed: ["X"], install: false },
    { name: "a version installed earlier needs no install", installed: ["W", "X"], install: false },
  ])("$name", ({ installed, install }) => {
    const decision = run({ queued: [job({ appVersionId: "X" })], installed });
    expect(decision).toMatchObject({
      groupKey: "acme|X|emulator",
      orgId: "acme",
      appVersionId: "X",
      target: "emulator",
      install,
    });
  });
});

describe("decide: spreading a group over an org's fair share", () => {
  it.each<Scenario & { name: string; size: number }>([
    {
      name: "an org with no device spreads a big group over its share although one agent is idle",
      // 3 orgs with work on 9 live devices: a share is 3 devices; 30 one-minute jobs -> 10 each.
      queued: [...jobs(30, { orgId: "small" }), job({ orgId: "big", appVersionId: "B" })],
      usage: { big: 60 * MINUTE },
      live: 9,
      busyByOrg: { big: 6, other: 2 },
      size: 10,
    },
    {
      name: "an org already on its share takes the group whole on the one idle agent",
      queued: jobs(30, { orgId: "small" }),
      live: 9,
      busyByOrg: { small: 3, big: 5 },
      size: 30,
    },
    {
      name: "the org's share is never spread wider than splitFactor installs of work allow",
      queued: jobs(6, { orgId: "small" }),
      live: 16,
      busyByOrg: { big: 15 },
      size: 3,
    },
  ])("$name", (c) => {
    expect(run(c).jobIds).toHaveLength(c.size);
  });
});
