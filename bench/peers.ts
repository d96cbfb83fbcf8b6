/**
 * The job queues users know, measured the way bench/dispatch.ts measures qgjob: graphile-worker
 * and pg-boss on the local Postgres (each trial in a schema of its own, dropped after), bullmq
 * on the local Redis (a key prefix of its own, obliterated after) and plainjob on a SQLite file.
 *
 * A cycle is claim + complete + enqueue one more job, so the queue stays as deep as it started
 * (qgjob's cycle submits one job per job it finishes, the same). Each library is driven the way
 * its documentation drives it: graphile-worker's runner and bullmq's Worker with
 * `concurrency: workers`; pg-boss `fetch`/`complete` from `workers` loops (its `work` polls);
 * plainjob `getAndMarkJobAsProcessing`/`markJobAsDone` from `workers` loops.
 *
 * Wake-up: one idle worker waits on an empty queue; the latency is from the enqueue call to the
 * job's handler starting, each library with its own worker loop at its fastest setting.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Queue, Worker } from "bullmq";
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import { Redis } from "ioredis";
import pg from "pg";
import PgBoss from "pg-boss";
import { better, defineQueue, defineWorker } from "plainjob";
import { POSTGRES_URL } from "../test/store/engines.js";
import { tempDir } from "../test/harness.js";

export interface Contender {
  name: string;
  /** Completed cycles per second with `workers` concurrent workers, `depth` jobs queued. */
  cycles(workers: number, depth: number, seconds: number): Promise<number>;
  /** Milliseconds from enqueue to an idle worker starting the job, `n` times. */
  wakeups?(n: number): Promise<number[]>;
}

/** bullmq under ESM takes clients, not options; its blocking worker needs no retry cap. */
const redis = () => new Redis({ host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null });
const silentGraphile = new Logger(() => () => {});
const silentPlain = { error() {}, warn() {}, info() {}, debug() {} };
const unique = (prefix: string) => `${prefix}_${randomBytes(5).toString("hex")}`;
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dropSchema(name: string) {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`drop schema if exists ${name} cascade`);
  } finally {
    await admin.end();
  }
}

/** Counts what `count` adds between now and `seconds` later, as a rate. */
async function window(seconds: number, done: () => number): Promise<number> {
  const before = done();
  const t0 = performance.now();
  await pause(seconds * 1000);
  return (done() - before) / ((performance.now() - t0) / 1000);
}

/**
 * Wake-up latencies: `enqueue` a job `n` times, each after the worker went idle, and time until
 * `started` (set by the worker's handler) resolves. Random gaps keep polls out of phase.
 */
export async function timeWakeups(
  n: number,
  enqueue: () => Promise<unknown>,
  started: { next(): Promise<number> },
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    await pause(20 + Math.random() * 30);
    const handler = started.next();
    const t0 = performance.now();
    await enqueue();
    out.push((await handler) - t0);
  }
  return out;
}

/** A latch the worker's handler trips with the time it started. */
export function startSignal() {
  let trip: ((t: number) => void) | null = null;
  return {
    next: () => new Promise<number>((r) => (trip = r)),
    fire() {
      const t = performance.now();
      trip?.(t);
      trip = null;
    },
  };
}

const graphileWorker: Contender = {
  name: "graphile-worker",
  async cycles(workers, depth, seconds) {
    const schema = unique("gw");
    const utils = await makeWorkerUtils({ connectionString: POSTGRES_URL, schema });
    try {
      await utils.migrate();
      await utils.addJobs(Array.from({ length: depth }, () => ({ identifier: "t", payload: {} })));
      let done = 0;
      const runner = await run({
        connectionString: POSTGRES_URL,
        schema,
        concurrency: workers,
        maxPoolSize: workers + 2,
        noHandleSignals: true,
        logger: silentGraphile,
        taskList: {
          t: async (_payload, helpers) => {
            await helpers.addJob("t", {});
            done++;
          },
        },
      });
      const rate = await window(seconds, () => done);
      await runner.stop();
      return rate;
    } finally {
      await utils.release();
      await dropSchema(schema);
    }
  },
  async wakeups(n) {
    const schema = unique("gw");
    const utils = await makeWorkerUtils({ connectionString: POSTGRES_URL, schema });
    const started = startSignal();
    try {
      await utils.migrate();
      const runner = await run({
        connectionString: POSTGRES_URL,
        schema,
        concurrency: 1,
        noHandleSignals: true,
        logger: silentGraphile,
        taskList: { t: async () => started.fire() },
      });
      await pause(200);
      const out = await timeWakeups(n, () => utils.addJob("t", {}), started);
      await runner.stop();
      return out;
    } finally {
      await utils.release();
      await dropSchema(schema);
    }
  },
};

async function withBoss<T>(max: number, body: (boss: PgBoss) => Promise<T>): Promise<T> {
  const schema = unique("pgboss");
  const boss = new PgBoss({
    connectionString: POSTGRES_URL,
    schema,
    max,
    supervise: false,
    schedule: false,
  });
  boss.on("error", () => {});
  await boss.start();
  try {
    await boss.createQueue("t");
    return await body(boss);
  } finally {
    await boss.stop({ graceful: false, wait: true });
    await dropSchema(schema);
  }
}

const pgBoss: Contender = {
  name: "pg-boss",
  cycles: (workers, depth, seconds) =>
    withBoss(workers + 2, async (boss) => {
      await boss.insert(Array.from({ length: depth }, () => ({ name: "t", data: {} })));
      let done = 0;
      let running = true;
      const loops = Array.from({ length: workers }, async () => {
        while (running) {
          const [job] = await boss.fetch("t");
          if (!job) continue;
          await boss.complete("t", job.id);
          await boss.send("t", {});
          done++;
        }
      });
      const rate = await window(seconds, () => done);
      running = false;
      await Promise.all(loops);
      return rate;
    }),
  wakeups: (n) =>
    withBoss(4, async (boss) => {
      const started = startSignal();
      // pg-boss has no push: its worker polls, at most every 0.5 s.
      await boss.work("t", { pollingIntervalSeconds: 0.5 }, async () => started.fire());
      await pause(200);
      return timeWakeups(n, () => boss.send("t", {}), started);
    }),
};

async function withBull<T>(
  body: (queue: Queue, worker: (run: () => unknown, concurrency: number) => Worker) => Promise<T>,
): Promise<T> {
  const prefix = unique("bq");
  const clients = [redis()];
  const queue = new Queue("t", { connection: clients[0]!, prefix });
  const worker = (run: () => unknown, concurrency: number) => {
    clients.push(redis());
    return new Worker("t", async () => run(), {
      connection: clients.at(-1)!,
      prefix,
      concurrency,
    });
  };
  try {
    return await body(queue, worker);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    for (const c of clients) c.disconnect();
  }
}

const bullmq: Contender = {
  name: "bullmq",
  cycles: (workers, depth, seconds) =>
    withBull(async (queue, worker) => {
      await queue.addBulk(Array.from({ length: depth }, () => ({ name: "t", data: {} })));
      let done = 0;
      const w = worker(async () => {
        await queue.add("t", {});
        done++;
      }, workers);
      const rate = await window(seconds, () => done);
      await w.close(true);
      return rate;
    }),
  wakeups: (n) =>
    withBull(async (queue, worker) => {
      const started = startSignal();
      const w = worker(() => started.fire(), 1);
      await w.waitUntilReady();
      await pause(200);
      const out = await timeWakeups(n, () => queue.add("t", {}), started);
      await w.close(true);
      return out;
    }),
};

function withPlain<T>(body: (queue: ReturnType<typeof defineQueue>) => Promise<T>): Promise<T> {
  const dir = tempDir("qgjob-plainjob-");
  const db = new Database(join(dir, "plainjob.db"));
  const queue = defineQueue({ connection: better(db), logger: silentPlain });
  return body(queue).finally(() => {
    queue.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

const plainjob: Contender = {
  name: "plainjob",
  cycles: (workers, depth, seconds) =>
    withPlain(async (queue) => {
      queue.addMany(
        "t",
        Array.from({ length: depth }, () => ({})),
      );
      let done = 0;
      let running = true;
      // Synchronous calls: yield between cycles so the loops (and the clock) interleave.
      const loops = Array.from({ length: workers }, async () => {
        while (running) {
          const job = queue.getAndMarkJobAsProcessing("t");
          if (job) {
            queue.markJobAsDone(job.id);
            queue.add("t", {});
            done++;
          }
          await new Promise((r) => setImmediate(r));
        }
      });
      const rate = await window(seconds, () => done);
      running = false;
      await Promise.all(loops);
      return rate;
    }),
  wakeups: (n) =>
    withPlain(async (queue) => {
      const started = startSignal();
      // Its fastest documented setting is the default poll, once a second.
      const worker = defineWorker("t", () => started.fire(), { queue, logger: silentPlain });
      void worker.start();
      await pause(200);
      const out = await timeWakeups(n, async () => queue.add("t", {}), started);
      await worker.stop();
      return out;
    }),
};

export const peers: Contender[] = [graphileWorker, pgBoss, bullmq, plainjob];
