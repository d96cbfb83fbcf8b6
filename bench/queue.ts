/**
 * Section 3, queue speed in process: qgjob's SQLite store against plainjob (a job queue on
 * better-sqlite3), both on a file in WAL mode with synchronous=NORMAL, each write its own
 * transaction. Measures enqueue, and claim+complete cycles to drain what was enqueued.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { better, defineQueue } from "plainjob";
import { SubmitRunRequest } from "../api/schemas.js";
import { loadConfig, storeOptions } from "../app/config.js";
import { SqliteStore } from "../app/store/sqlite/engine.js";
import { median } from "./load.js";

export interface QueueRow {
  workload: string;
  qgjobPerSecond: number;
  plainjobPerSecond: number;
  ratio: number;
}

const silent = { error() {}, warn() {}, info() {}, debug() {} };

function rate(jobs: number, run: () => void): number {
  const t0 = performance.now();
  run();
  return jobs / ((performance.now() - t0) / 1000);
}

interface Round {
  enqueue1: number;
  enqueue100: number;
  cycles1: number;
  cyclesBatched: number;
}

async function qgjobRound(dir: string, jobs: number): Promise<Round> {
  const store = new SqliteStore(join(dir, "qgjob.db"), storeOptions(loadConfig({}, {})));
  let now = Date.now();
  // Parsed before the clock starts: the store is measured, not request validation.
  const input = (version: string, tests: string[]) =>
    SubmitRunRequest.parse({ org_id: "bench", app_version_id: version, tests });
  const singles = Array.from({ length: jobs }, (_, i) => input(`v${i}`, [`t/${i}.spec.ts`]));
  const hundreds = Array.from({ length: Math.ceil(jobs / 100) }, (_, i) =>
    input(
      "batched",
      Array.from({ length: 100 }, (_, k) => `t/${i * 100 + k}.spec.ts`),
    ),
  );
  const agent = await store.registerAgent(
    { name: "q", target: "emulator", device: null, labels: [], installed: [] },
    { orgId: null },
    now,
  );
  // Drains the queue lease by lease: start and report every job of each batch.
  const drain = async () => {
    let done = 0;
    for (;;) {
      const grant = await store.claimLease(agent.id, now++);
      if (!grant) return done;
      for (const job of grant.jobs) {
        await store.startJob(grant.lease.id, job.id, job.attempts, now);
        await store.reportResult(
          grant.lease.id,
          job.id,
          { attempt: job.attempts, status: "passed", duration_ms: 1, artifacts: [] },
          now++,
        );
        done++;
      }
    }
  };
  const timed = async (count: number, run: () => Promise<unknown>) => {
    const t0 = performance.now();
    await run();
    return count / ((performance.now() - t0) / 1000);
  };
  // Every job its own app version: each lease holds one job (the worst case for qgjob).
  const enqueue1 = await timed(jobs, async () => {
    for (const run of singles) await store.submitRun(run, {}, now++);
  });
  const cycles1 = await timed(jobs, drain);
  const enqueue100 = await timed(hundreds.length * 100, async () => {
    for (const run of hundreds) await store.submitRun(run, {}, now++);
  });
  const cyclesBatched = await timed(hundreds.length * 100, drain);
  await store.close();
  return { enqueue1, enqueue100, cycles1, cyclesBatched };
}

function plainjobRound(dir: string, jobs: number): Round {
  const db = new Database(join(dir, "plainjob.db"));
  const queue = defineQueue({ connection: better(db), logger: silent });
  const data = (i: number) => ({ test: `t/${i}.spec.ts`, app_version_id: `v${i}` });
  const drain = () => {
    for (;;) {
      const job = queue.getAndMarkJobAsProcessing("test");
      if (!job) return;
      queue.markJobAsDone(job.id);
    }
  };
  const enqueue1 = rate(jobs, () => {
    for (let i = 0; i < jobs; i++) queue.add("test", data(i));
  });
  const cycles1 = rate(jobs, drain);
  const enqueue100 = rate(jobs, () => {
    for (let i = 0; i < jobs; i += 100) {
      queue.addMany(
        "test",
        Array.from({ length: 100 }, (_, k) => data(i + k)),
      );
    }
  });
  // plainjob has no batches: a worker claims one job at a time.
  const cyclesBatched = rate(jobs, drain);
  queue.close();
  db.close();
  return { enqueue1, enqueue100, cycles1, cyclesBatched };
}

export async function queueSpeed(jobs: number, reps: number): Promise<QueueRow[]> {
  const q: Round[] = [];
  const p: Round[] = [];
  for (let i = 0; i < reps; i++) {
    const dir = mkdtempSync(join(tmpdir(), "qgjob-queue-"));
    try {
      // Alternate who goes first, so neither always meets a warmer machine.
      if (i % 2 === 0) {
        q.push(await qgjobRound(dir, jobs));
        p.push(plainjobRound(dir, jobs));
      } else {
        p.push(plainjobRound(dir, jobs));
        q.push(await qgjobRound(dir, jobs));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const row = (workload: string, key: keyof Round): QueueRow => {
    const qgjob = median(q.map((r) => r[key]));
    const plainjob = median(p.map((r) => r[key]));
    return {
      workload,
      qgjobPerSecond: Math.round(qgjob),
      plainjobPerSecond: Math.round(plainjob),
      ratio: +(qgjob / plainjob).toFixed(2),
    };
  };
  return [
    row("enqueue 1 job per call", "enqueue1"),
    row("enqueue 100 jobs per call", "enqueue100"),
    row("claim+complete, 1 job per lease", "cycles1"),
    row("claim+complete, batched leases (plainjob: 1 per claim)", "cyclesBatched"),
  ];
}
