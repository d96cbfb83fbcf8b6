/**
 * Dispatch in process: claim + start + complete cycles per second through the store, with
 * one-job leases (each job its own app version, so a lease holds one job), on SQLite (a WAL
 * file) and Postgres (a fresh schema on the local server), at 1, 8 and 32 concurrent workers
 * (each its own agent), from a queue `depth` groups deep. Counts only completed jobs.
 *
 *   npx tsx bench/dispatch.ts [--seconds 3] [--depth 2000] [--workers 1,8,32]
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SubmitRunRequest } from "../api/schemas.js";
import { loadConfig, storeOptions } from "../app/config.js";
import { openPostgresStore } from "../app/store/postgres/open.js";
import { SqliteStore } from "../app/store/sqlite/engine.js";
import type { Store } from "../app/store/store.js";
import { createTestSchema } from "../test/store/engines.js";
import { tempDir } from "../test/harness.js";

export interface DispatchRow {
  engine: string;
  workers: number;
  depth: number;
  jobsPerSecond: number;
}

async function fill(store: Store, depth: number, from: number, now: number) {
  const tests = ["t/a.spec.ts"];
  for (let i = 0; i < depth; i++) {
    await store.submitRun(
      SubmitRunRequest.parse({ org_id: `org${i % 3}`, app_version_id: `v${from + i}`, tests }),
      {},
      now,
    );
  }
}

async function measure(store: Store, workers: number, depth: number, seconds: number) {
  const now = Date.now();
  await fill(store, depth, 0, now);
  const agents = [];
  for (let w = 0; w < workers; w++) {
    agents.push(
      await store.registerAgent(
        { name: `w${w}`, target: "emulator", device: null, labels: [], installed: [] },
        { orgId: null },
        now,
      ),
    );
  }
  let done = 0;
  let refill = depth;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    agents.map(async (agent) => {
      while (performance.now() < until) {
        const grant = await store.claimLease(agent.id, Date.now());
        if (!grant) {
          await fill(store, 1, refill++, Date.now());
          continue;
        }
        for (const job of grant.jobs) {
          await store.startJob(grant.lease.id, job.id, job.attempts, Date.now());
          await store.reportResult(
            grant.lease.id,
            job.id,
            { attempt: job.attempts, status: "passed", duration_ms: 1000, artifacts: [] },
            Date.now(),
          );
          done++;
        }
        // Keep the queue as deep as it started.
        await fill(store, 1, refill++, Date.now());
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

export async function dispatchSpeed(
  workerCounts: number[],
  depth: number,
  seconds: number,
): Promise<DispatchRow[]> {
  const rows: DispatchRow[] = [];
  const options = storeOptions(loadConfig({}, {}));
  const engines: { engine: string; open(): Promise<{ store: Store; dispose(): Promise<void> }> }[] =
    [
      {
        engine: "sqlite",
        async open() {
          const dir = tempDir("qgjob-dispatch-");
          const store = new SqliteStore(join(dir, "q.db"), options);
          return {
            store,
            async dispose() {
              await store.close();
              rmSync(dir, { recursive: true, force: true });
            },
          };
        },
      },
      {
        engine: "postgres",
        async open() {
          const schema = await createTestSchema();
          const store = await openPostgresStore(
            { url: schema.url, poolMax: 10, statementTimeoutMs: 30_000 },
            options,
          );
          return {
            store,
            async dispose() {
              await store.close();
              await schema.drop();
            },
          };
        },
      },
    ];
  for (const workers of workerCounts) {
    for (const { engine, open } of engines) {
      const { store, dispose } = await open();
      try {
        const jobsPerSecond = Math.round(await measure(store, workers, depth, seconds));
        rows.push({ engine, workers, depth, jobsPerSecond });
      } finally {
        await dispose();
      }
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "3" },
      depth: { type: "string", default: "2000" },
      workers: { type: "string", default: "1,8,32" },
    },
  });
  const rows = await dispatchSpeed(
    values.workers.split(",").map(Number),
    Number(values.depth),
    Number(values.seconds),
  );
  for (const r of rows) console.log(JSON.stringify(r));
}
