/**
 * The bounded claim decides exactly what the scheduler decides on the whole queue: over random
 * queues (orgs, versions, devices, priorities, ages with many ties, known durations), fleets
 * (fleet and org agents, live leases), usage and asking agents, on each engine's own summary
 * tables and reads. The reference is `decide()` over every queued job the agent may run.
 */
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { and, eq, isNull, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/harness.js";
import { loadConfig, storeOptions } from "../config.js";
import { groupingStrategies } from "../scheduler/grouping.js";
import { decide } from "../scheduler/policy.js";
import type { Decision, GroupingStrategy, SchedulingInput, Target } from "../scheduler/types.js";
import { LocalChangeFeed } from "./change-feed.js";
import { groupKeyOf } from "./heads.js";
import type { PgExec } from "./postgres/context.js";
import { MIGRATIONS } from "./postgres/database.js";
import * as pgLeases from "./postgres/leases.js";
import * as pgQueued from "./postgres/queued.js";
import * as pgSchema from "./postgres/schema.js";
import { openSqlite } from "./sqlite/database.js";
import * as sqliteLeases from "./sqlite/leases.js";
import * as sqliteQueued from "./sqlite/queued.js";
import * as sqliteSchema from "./sqlite/schema.js";

const NOW = Date.UTC(2026, 0, 1, 12);
const MINUTE = 60_000;
const ORGS = ["o1", "o2", "o3"];
const VERSIONS = ["v1", "v2", "v3", "v4", "v5"];

interface World {
  strategy: GroupingStrategy;
  jobs: {
    orgId: string;
    appVersionId: string;
    target: Target;
    device: string | null;
    repo: string | null;
    tags: string[];
    priority: number;
    ageMin: number;
    testPath: string;
  }[];
  durations: { orgId: string; testPath: string; ewmaMs: number }[];
  usage: { orgId: string; usageMs: number; agoMin: number }[];
  /** Other live agents; `leaseOrg` set when the agent holds a lease for that org. */
  fleet: { orgId: string | null; leaseOrg: string | null }[];
  agent: { orgId: string | null; device: string | null; installed: string[] };
}

const world: fc.Arbitrary<World> = fc.record({
  strategy: fc.constantFrom(...Object.values(groupingStrategies)),
  jobs: fc.array(
    fc.record({
      orgId: fc.constantFrom(...ORGS),
      appVersionId: fc.constantFrom(...VERSIONS),
      target: fc.constantFrom("emulator", "emulator", "emulator", "device"),
      device: fc.constantFrom(null, null, "Pixel 7", "Galaxy"),
      repo: fc.constantFrom(null, "acme/app", "acme/lib"),
      tags: fc.constantFrom([], ["@smoke"], ["smoke", "slow"]),
      priority: fc.constantFrom(0, 0, 1, 5),
      // Few distinct ages: ties on the oldest job are common, as in one submission's jobs.
      ageMin: fc.constantFrom(0, 1, 5, 10, 16, 20, 40),
      testPath: fc.constantFrom("a.spec.ts", "b.spec.ts", "c.spec.ts", "d.spec.ts"),
    }),
    { maxLength: 60 },
  ),
  durations: fc.array(
    fc.record({
      orgId: fc.constantFrom(...ORGS),
      testPath: fc.constantFrom("a.spec.ts", "b.spec.ts", "c.spec.ts"),
      ewmaMs: fc.constantFrom(1_000, 30_000, 200_000, 900_000),
    }),
    { maxLength: 6 },
  ),
  usage: fc.array(
    fc.record({
      orgId: fc.constantFrom(...ORGS),
      usageMs: fc.constantFrom(0, 60_000, 100_000, 600_000),
      agoMin: fc.constantFrom(0, 5, 30),
    }),
    { maxLength: 3 },
  ),
  fleet: fc.array(
    fc.record({
      orgId: fc.constantFrom(null, null, ...ORGS),
      leaseOrg: fc.constantFrom(null, null, ...ORGS),
    }),
    { maxLength: 8 },
  ),
  agent: fc.record({
    orgId: fc.constantFrom(null, null, ...ORGS),
    device: fc.constantFrom(null, null, "Pixel 7"),
    installed: fc.uniqueArray(fc.constantFrom(...VERSIONS), { maxLength: 3 }),
  }),
});

/** Rows of a world, as both schemas take them. */
function rowsOf(w: World) {
  const jobs = w.jobs.map((j, i) => ({
    id: `job-${String(i).padStart(3, "0")}`,
    runId: "run-1",
    orgId: j.orgId,
    appVersionId: j.appVersionId,
    target: j.target,
    device: j.device,
    repo: j.repo,
    testPath: j.testPath,
    tags: j.tags,
    priority: j.priority,
    status: "queued" as const,
    maxAttempts: 3,
    retries: 0,
    timeoutS: 600,
    queuedAt: NOW - j.ageMin * MINUTE,
    createdAt: NOW - j.ageMin * MINUTE,
    groupKey: groupKeyOf(w.strategy, j),
  }));
  const durations = [
    ...new Map(w.durations.map((d) => [`${d.orgId}|${d.testPath}`, d])).values(),
  ].flatMap((d) =>
    (["emulator", "device"] as const).map((target) => ({
      ...d,
      target,
      samples: 1,
      updatedAt: NOW,
    })),
  );
  const usage = [...new Map(w.usage.map((u) => [u.orgId, u])).values()].map((u) => ({
    orgId: u.orgId,
    usageMs: u.usageMs,
    updatedAt: NOW - u.agoMin * MINUTE,
  }));
  const agent = {
    id: "agt-asking",
    orgId: w.agent.orgId,
    name: "asking",
    target: "emulator" as const,
    device: w.agent.device,
    labels: [],
    installed: w.agent.installed,
    registeredAt: NOW - MINUTE,
    lastSeenAt: NOW,
  };
  const others = w.fleet.map((a, i) => ({
    ...agent,
    id: `agt-${i}`,
    name: `agent-${i}`,
    orgId: a.orgId,
    device: null,
    installed: [],
  }));
  const leases = w.fleet.flatMap((a, i) =>
    a.leaseOrg === null || (a.orgId !== null && a.orgId !== a.leaseOrg)
      ? []
      : [
          {
            id: `lse-${i}`,
            agentId: `agt-${i}`,
            orgId: a.leaseOrg,
            appVersionId: "v9",
            target: "emulator" as const,
            groupKey: `${a.leaseOrg}|v9|emulator`,
            install: false,
            createdAt: NOW - MINUTE,
            expiresAt: NOW + 10 * MINUTE,
            endedAt: null,
            endReason: null,
          },
        ],
  );
  return { jobs, durations, usage, agents: [agent, ...others], leases };
}

interface Engine {
  /** Loads a world (replacing the last), then decides for its agent both ways. */
  decideBoth(w: World): Promise<{ bounded: Decision | null; full: Decision | null }>;
}

const TABLES = ["jobs", "test_durations", "org_usage", "agents", "leases"];

/** The agent's queue as the store's filters give it: its target, org and device. */
const servedBy = (
  t: typeof sqliteSchema.jobs | typeof pgSchema.jobs,
  agent: World["agent"],
): ReturnType<typeof and> =>
  and(
    eq(t.target, "emulator"),
    agent.orgId === null ? undefined : eq(t.orgId, agent.orgId),
    agent.device === null ? isNull(t.device) : or(isNull(t.device), eq(t.device, agent.device)),
  );

function sqliteEngine(): Engine & { close(): void } {
  const { raw, db } = openSqlite(join(tempDir("qgjob-heads-"), "q.db"), {
    synchronous: "normal",
    busyTimeoutMs: 1000,
  });
  const base = storeOptions(loadConfig({}, {}));
  return {
    async decideBoth(w) {
      const ctx = {
        raw,
        db,
        feed: new LocalChangeFeed(),
        options: { ...base, grouping: w.strategy },
      };
      const rows = rowsOf(w);
      const s = sqliteSchema;
      return db.transaction((tx) => {
        for (const table of TABLES) raw.prepare(`delete from ${table}`).run();
        if (rows.jobs.length) tx.insert(s.jobs).values(rows.jobs).run();
        if (rows.durations.length) tx.insert(s.testDurations).values(rows.durations).run();
        if (rows.usage.length) tx.insert(s.orgUsage).values(rows.usage).run();
        tx.insert(s.agents).values(rows.agents).run();
        if (rows.leases.length) tx.insert(s.leases).values(rows.leases).run();
        const agent = rows.agents[0]!;
        const bounded = sqliteLeases.decideFor(ctx, agent, NOW);
        const input: SchedulingInput = {
          ...sqliteLeases.schedulingView(ctx, agent, NOW),
          queued: sqliteQueued.queuedJobs(tx, base.scheduler, servedBy(s.jobs, w.agent)),
        };
        return { bounded, full: decide(input, base.scheduler, w.strategy) };
      });
    },
    close: () => raw.close(),
  };
}

async function pgliteEngine(): Promise<Engine & { close(): Promise<void> }> {
  const client = new PGlite();
  const db = drizzle(client, { schema: pgSchema }) as unknown as PgExec;
  await migrate(drizzle(client, { schema: pgSchema }), { migrationsFolder: MIGRATIONS });
  const base = storeOptions(loadConfig({}, {}));
  return {
    async decideBoth(w) {
      const ctx = { db, feed: new LocalChangeFeed(), options: { ...base, grouping: w.strategy } };
      const rows = rowsOf(w);
      const s = pgSchema;
      await client.exec(`truncate ${TABLES.join(", ")}`);
      await client.exec("truncate queue_partitions, queue_groups");
      if (rows.jobs.length) await db.insert(s.jobs).values(rows.jobs);
      if (rows.durations.length) await db.insert(s.testDurations).values(rows.durations);
      if (rows.usage.length) await db.insert(s.orgUsage).values(rows.usage);
      await db.insert(s.agents).values(rows.agents);
      if (rows.leases.length) await db.insert(s.leases).values(rows.leases);
      const agent = rows.agents[0]!;
      const bounded = await pgLeases.decideFor(db, ctx, agent, NOW);
      const input: SchedulingInput = {
        ...(await pgLeases.schedulingView(db, ctx, agent, NOW)),
        queued: await pgQueued.queuedJobs(db, base.scheduler, servedBy(s.jobs, w.agent)),
      };
      return { bounded, full: decide(input, base.scheduler, w.strategy) };
    },
    close: () => client.close(),
  };
}

describe("the bounded claim decides what decide() decides on the whole queue", () => {
  it("on SQLite", async () => {
    const sqlite = sqliteEngine();
    try {
      await fc.assert(
        fc.asyncProperty(world, async (w) => {
          const { bounded, full } = await sqlite.decideBoth(w);
          expect(bounded).toEqual(full);
        }),
        { numRuns: 300 },
      );
    } finally {
      sqlite.close();
    }
  }, 60_000);

  it("on Postgres (PGlite)", async () => {
    const pglite = await pgliteEngine();
    try {
      await fc.assert(
        fc.asyncProperty(world, async (w) => {
          const { bounded, full } = await pglite.decideBoth(w);
          expect(bounded).toEqual(full);
        }),
        { numRuns: 20 },
      );
    } finally {
      await pglite.close();
    }
  }, 120_000);
});
