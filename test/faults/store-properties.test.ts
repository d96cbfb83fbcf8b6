/**
 * State-machine properties of the real store, on every engine (a SQLite file, PGlite, a schema on
 * the real Postgres server), time passed in:
 * random interleavings of submit (and keyed resubmits), lease, heartbeat, start, result, expire,
 * cancel, release and re-register, from fresh and from stale agents, must never
 *  - hold a job in two live leases (or leave a leased job without one),
 *  - change a terminal state,
 *  - lose a job (or make a second one from a replayed submission),
 *  - let a run's counts drift from its jobs' states.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SubmitRunInput } from "../../api/schemas.js";
import { loadConfig, storeOptions } from "../../app/config.js";
import { QgjobError } from "../../app/errors.js";
import { isHeld, isTerminal } from "../../api/status.js";
import type { JobRecord, LeaseGrant, Store } from "../../app/store/store.js";
import { enginesUnderTest, type RawRow } from "../store/engines.js";

/** Random sequences per engine: a Postgres database costs far more to create than a SQLite file. */
const SEQUENCES: Record<string, number> = { sqlite: 120, pglite: 4, postgres: 30 };
const MAX_STEPS = 80;
const AGENTS = 3;
const TTL_MS = 120_000;
const ALL = { orgId: null };

type Action =
  | {
      kind: "submit";
      org: string;
      app: string;
      tests: number;
      retries: number;
      maxAttempts: number;
      /** Reused keys replay the first answer (same body) or are refused (another body). */
      key: string | null;
    }
  /** The last keyed submission again, as a client retrying after a lost answer would. */
  | { kind: "resubmit" }
  | { kind: "lease"; agent: number }
  | { kind: "heartbeat"; agent: number; stale: boolean }
  | { kind: "start"; agent: number; pick: number; stale: boolean }
  | {
      kind: "result";
      agent: number;
      pick: number;
      stale: boolean;
      status: "passed" | "failed" | "error" | "timed_out";
      attemptOffset: number;
    }
  | { kind: "release"; agent: number; stale: boolean }
  | { kind: "tick"; ms: number }
  | { kind: "cancelJob"; pick: number }
  | { kind: "cancelRun"; pick: number }
  | { kind: "reregister"; agent: number };

const agent = fc.nat(AGENTS - 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("submit" as const),
      org: fc.constantFrom("acme", "globex"),
      app: fc.constantFrom("v1", "v2"),
      tests: fc.integer({ min: 1, max: 4 }),
      retries: fc.integer({ min: 0, max: 1 }),
      maxAttempts: fc.integer({ min: 1, max: 3 }),
      key: fc.option(fc.constantFrom("k1", "k2"), { freq: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "resubmit" as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("lease" as const), agent }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), agent, stale: fc.boolean() }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("start" as const),
      agent,
      pick: fc.nat(),
      stale: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("result" as const),
      agent,
      pick: fc.nat(),
      stale: fc.boolean(),
      status: fc.constantFrom("passed", "failed", "error", "timed_out"),
      attemptOffset: fc.constantFrom(0, 0, 0, -1, 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("release" as const), agent, stale: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 2 * TTL_MS }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancelJob" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancelRun" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reregister" as const), agent }) },
);

/** What the test remembers between steps: agents' leases (current and past) and what it made. */
interface World {
  store: Store;
  rows(sql: string): Promise<RawRow[]>;
  now: number;
  agentIds: string[];
  current: (LeaseGrant | null)[];
  past: LeaseGrant[][];
  runIds: string[];
  jobs: Map<string, { runId: string; testPath: string }>;
  terminal: Map<string, { status: string; flaky: boolean; finishedAt: number | null }>;
  replays: number;
  lastKeyed: { input: SubmitRunInput; key: string } | null;
}

const pickFrom = <T>(items: readonly T[], n: number): T | undefined =>
  items.length === 0 ? undefined : items[n % items.length];

function leaseFor(w: World, a: number, stale: boolean): LeaseGrant | undefined {
  return stale ? pickFrom(w.past[a]!, w.now) : (w.current[a] ?? undefined);
}

async function register(w: World, a: number) {
  const agent = await w.store.registerAgent(
    { name: `agent-${a}`, target: "emulator", device: null, labels: [], installed: [] },
    ALL,
    w.now,
  );
  w.agentIds[a] = agent.id;
  const held = w.current[a];
  if (held) w.past[a]!.push(held);
  w.current[a] = null;
}

async function apply(w: World, act: Action): Promise<void> {
  const { store } = w;
  switch (act.kind) {
    case "submit": {
      const input = {
        org_id: act.org,
        app_version_id: act.app,
        tests: Array.from({ length: act.tests }, (_, i) => `t${i}.spec.js`),
        target: "emulator" as const,
        priority: 5,
        retries: act.retries,
        max_attempts: act.maxAttempts,
        timeout_s: 600,
        tags: [],
        source: "api" as const,
      };
      if (act.key) w.lastKeyed = { input, key: act.key };
      await submitRun(w, input, act.key);
      return;
    }
    case "resubmit":
      if (w.lastKeyed) await submitRun(w, w.lastKeyed.input, w.lastKeyed.key);
      return;
    case "lease": {
      const grant = await store.claimLease(w.agentIds[act.agent]!, w.now);
      if (grant) {
        const held = w.current[act.agent];
        if (held) w.past[act.agent]!.push(held);
        w.current[act.agent] = grant;
      }
      return;
    }
    case "heartbeat": {
      const lease = leaseFor(w, act.agent, act.stale);
      await store.heartbeat(w.agentIds[act.agent]!, lease?.lease.id ?? null, w.now);
      return;
    }
    case "start":
    case "result": {
      const lease = leaseFor(w, act.agent, act.stale);
      const job = lease && pickFrom(lease.jobs, act.pick);
      if (!lease || !job) return;
      const attempt =
        (await currentAttempt(w, job)) + (act.kind === "result" ? act.attemptOffset : 0);
      if (act.kind === "start") {
        await store.startJob(lease.lease.id, job.id, Math.max(1, attempt), w.now);
      } else {
        await store.reportResult(
          lease.lease.id,
          job.id,
          {
            attempt: Math.max(1, attempt),
            status: act.status,
            duration_ms: 1000,
            artifacts: [],
            ...(act.status === "passed" ? {} : { message: `${act.status} at step` }),
          },
          w.now,
        );
      }
      return;
    }
    case "release": {
      const lease = leaseFor(w, act.agent, act.stale);
      if (lease) await store.releaseLease(lease.lease.id, w.now);
      return;
    }
    case "tick":
      w.now += act.ms;
      await store.reapExpired(w.now);
      return;
    case "cancelJob": {
      const id = pickFrom([...w.jobs.keys()], act.pick);
      if (id) await store.cancelJob(id, ALL, w.now);
      return;
    }
    case "cancelRun": {
      const id = pickFrom(w.runIds, act.pick);
      if (id) await store.cancelRun(id, ALL, w.now);
      return;
    }
    case "reregister":
      await register(w, act.agent);
      return;
  }
}

async function submitRun(w: World, input: SubmitRunInput, key: string | null) {
  const out = await w.store.submitRun(
    input,
    key ? { idempotencyKey: key, requestHash: JSON.stringify(input) } : {},
    w.now,
  );
  if (!w.runIds.includes(out.run.id)) w.runIds.push(out.run.id);
  for (const j of out.jobs) w.jobs.set(j.id, { runId: j.runId, testPath: j.testPath });
  if (out.replayed) w.replays++;
}

async function currentAttempt(w: World, job: JobRecord): Promise<number> {
  const rows = await w.rows("SELECT id, attempts FROM jobs");
  return Number(rows.find((r) => r.id === job.id)!.attempts);
}

interface JobRow {
  id: string;
  run_id: string;
  test_path: string;
  status: string;
  flaky: boolean;
  lease_id: string | null;
  finished_at: number | null;
}

/** One shape whatever the driver: SQLite's 0/1 flags and Postgres' bigint strings normalised. */
const jobRow = (r: RawRow): JobRow => ({
  id: String(r.id),
  run_id: String(r.run_id),
  test_path: String(r.test_path),
  status: String(r.status),
  flaky: Boolean(Number(r.flaky)),
  lease_id: r.lease_id == null ? null : String(r.lease_id),
  finished_at: r.finished_at == null ? null : Number(r.finished_at),
});

async function checkInvariants(w: World, after: string) {
  const rows = (
    await w.rows("SELECT id, run_id, test_path, status, flaky, lease_id, finished_at FROM jobs")
  ).map(jobRow);
  const byId = new Map(rows.map((r) => [r.id, r]));

  // Never lose a job: every submitted job is still there, as submitted, and nothing else is.
  expect(rows.length, after).toBe(w.jobs.size);
  for (const [id, made] of w.jobs) {
    const row = byId.get(id);
    expect(row, `${after}: job ${id} lost`).toBeDefined();
    expect({ runId: row!.run_id, testPath: row!.test_path }).toEqual(made);
  }

  // Terminal states never change.
  for (const row of rows) {
    const seen = w.terminal.get(row.id);
    const now = { status: row.status, flaky: row.flaky, finishedAt: row.finished_at };
    if (seen) expect(now, `${after}: terminal job ${row.id} changed`).toEqual(seen);
    else if (isTerminal(row.status)) w.terminal.set(row.id, now);
  }

  // One live lease at most per job, and a leased or running job has exactly that one.
  const liveLeases = new Set(
    (await w.rows("SELECT id FROM leases WHERE ended_at IS NULL")).map((r) => String(r.id)),
  );
  const open = (await w.rows("SELECT job_id, lease_id, status FROM job_attempts")) as {
    job_id: string;
    lease_id: string;
    status: string;
  }[];
  const liveHolders = new Map<string, Set<string>>();
  for (const a of open) {
    if (!isHeld(a.status) || !liveLeases.has(a.lease_id)) continue;
    liveHolders.set(a.job_id, (liveHolders.get(a.job_id) ?? new Set()).add(a.lease_id));
  }
  for (const row of rows) {
    const holders = [...(liveHolders.get(row.id) ?? [])];
    expect(holders.length, `${after}: job ${row.id} in live leases ${holders}`).toBeLessThanOrEqual(
      1,
    );
    if (row.status === "leased" || row.status === "running") {
      expect(row.lease_id, `${after}: ${row.status} job ${row.id} without a lease`).not.toBeNull();
      expect(liveLeases.has(row.lease_id!), `${after}: ${row.id} on an ended lease`).toBe(true);
      expect(holders, `${after}: ${row.id}`).toEqual([row.lease_id]);
    } else {
      expect(holders, `${after}: ${row.status} job ${row.id} still held`).toEqual([]);
    }
    if (row.status === "queued") expect(row.lease_id, after).toBeNull();
  }

  // Every run's counts are its jobs' states.
  for (const runId of w.runIds) {
    const run = await w.store.getRun(runId, ALL);
    const jobs = rows.filter((r) => r.run_id === runId);
    const expected: Record<string, number> = { total: jobs.length, flaky: 0 };
    for (const j of jobs) {
      expected[j.status] = (expected[j.status] ?? 0) + 1;
      if (j.flaky) expected.flaky! += 1;
    }
    const counts = Object.fromEntries(Object.entries(run!.counts).filter(([, n]) => n > 0));
    expect(counts, `${after}: run ${runId} counts`).toEqual(
      Object.fromEntries(Object.entries(expected).filter(([, n]) => n > 0)),
    );
  }
}

for (const engine of await enginesUnderTest()) {
  describe(`store state machine (${engine.name})`, () => {
    let sequences = 0;
    let steps = 0;
    let replays = 0;
    const refusals = new Map<string, number>();

    it("keeps its invariants under random interleavings from fresh and stale agents", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(action, { minLength: 10, maxLength: MAX_STEPS, size: "max" }),
          async (actions) => {
            sequences++;
            const opened = await engine.open(
              storeOptions(loadConfig({ leaseTtlS: TTL_MS / 1000 }, {})),
            );
            const w: World = {
              store: opened.store,
              rows: opened.rows,
              now: 1_700_000_000_000,
              agentIds: [],
              current: Array(AGENTS).fill(null),
              past: Array.from({ length: AGENTS }, () => []),
              runIds: [],
              jobs: new Map(),
              terminal: new Map(),
              replays: 0,
              lastKeyed: null,
            };
            try {
              for (let a = 0; a < AGENTS; a++) await register(w, a);
              for (const [i, act] of actions.entries()) {
                try {
                  await apply(w, act);
                } catch (err) {
                  // Refusals are the store doing its job (stale lease, finished job...); anything else is a bug.
                  if (!(err instanceof QgjobError)) throw err;
                  refusals.set(err.code, (refusals.get(err.code) ?? 0) + 1);
                }
                steps++;
                await checkInvariants(w, `step ${i} ${JSON.stringify(act)}`);
                w.now += 1;
              }
            } finally {
              replays += w.replays;
              await opened.dispose();
            }
          },
        ),
        { numRuns: SEQUENCES[engine.name] ?? 8, endOnFailure: true },
      );
      console.log(
        `store properties (${engine.name}): ${sequences} random sequences, ${steps} steps ` +
          `(${replays} idempotent replays), 4 invariants checked after each; ` +
          `refusals ${JSON.stringify(Object.fromEntries(refusals))}`,
      );
    });
  });
}
