/**
 * Dispatch: claim + start + complete cycles per second, qgjob beside the queues users know
 * (bench/peers.ts), at 1, 8 and 32 concurrent workers, in one run; and wake-up latency.
 *
 * qgjob runs on SQLite (a WAL file) and Postgres (a fresh schema on the local server), in
 * process (through the Store, each worker its own agent) and over HTTP (a `qgjob server` process
 * on loopback, each worker an agent calling lease -> start -> result). Leases hold one job: each
 * job is its own app version. Every finished job submits one more, so the queue stays `depth`
 * groups deep; the peers enqueue one job per job the same way. Wake-up: one agent long-polls an
 * empty queue; the latency is from the submit call to the lease answer.
 *
 *   npx tsx bench/dispatch.ts [--seconds 3] [--depth 1000] [--workers 1,8,32] [--wakeups 50]
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
import { finishLease, percentile, post, spawnServer, stop } from "./load.js";
import { pause, peers, type Contender } from "./peers.js";

export interface DispatchRow {
  name: string;
  workers: number;
  jobsPerSecond: number;
}

export interface WakeupRow {
  name: string;
  p50Ms: number;
  p99Ms: number;
}

export interface DispatchResults {
  depth: number;
  rows: DispatchRow[];
  wakeups: WakeupRow[];
}

type Engine = "sqlite" | "postgres";

/** A database of `engine`'s kind for one trial: a file, or a schema on the local server. */
async function database(engine: Engine) {
  if (engine === "sqlite") {
    const dir = tempDir("qgjob-dispatch-");
    return {
      path: join(dir, "q.db"),
      env: {},
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = await createTestSchema();
  return { path: schema.url, env: { DATABASE_URL: schema.url }, drop: () => schema.drop() };
}

async function openStore(engine: Engine, path: string): Promise<Store> {
  const options = storeOptions(loadConfig({}, {}));
  if (engine === "sqlite") return new SqliteStore(path, options);
  return openPostgresStore({ url: path, poolMax: 10, statementTimeoutMs: 30_000 }, options);
}

/** Runs `work` for `count` items with `concurrency` callers. */
async function parallel(count: number, concurrency: number, work: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Loops `workers` callers of `cycle` (which answers how many jobs it finished) for `seconds`. */
async function rate(workers: number, seconds: number, cycle: (w: number) => Promise<number>) {
  let done = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < until) {
        const finished = await cycle(w);
        done += finished;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

function inProcess(engine: Engine): Contender {
  return {
    name: `qgjob ${engine} in process`,
    async cycles(workers, depth, seconds) {
      const db = await database(engine);
      const store = await openStore(engine, db.path);
      try {
        let version = 0;
        const submit = () =>
          store.submitRun(
            SubmitRunRequest.parse({
              org_id: `org${version % 3}`,
              app_version_id: `v${version++}`,
              tests: ["t/a.spec.ts"],
            }),
            {},
            Date.now(),
          );
        await parallel(depth, 8, submit);
        const agents: { id: string }[] = [];
        for (let w = 0; w < workers; w++) {
          const agent = { name: `w${w}`, target: "emulator", device: null } as const;
          const registration = { ...agent, labels: [], installed: [] };
          agents.push(await store.registerAgent(registration, { orgId: null }, Date.now()));
        }
        return await rate(workers, seconds, async (w) => {
          const grant = await store.claimLease(agents[w]!.id, Date.now());
          if (!grant) return 0;
          for (const job of grant.jobs) {
            await store.startJob(grant.lease.id, job.id, job.attempts, Date.now());
            await store.reportResult(
              grant.lease.id,
              job.id,
              { attempt: job.attempts, status: "passed", duration_ms: 1000, artifacts: [] },
              Date.now(),
            );
            await submit();
          }
          return grant.jobs.length;
        });
      } finally {
        await store.close();
        await db.drop();
      }
    },
  };
}

/** A server process of its own on a fresh database, as agents and submitters see it. */
export async function withServer<T>(engine: Engine, body: (api: string) => Promise<T>): Promise<T> {
  const db = await database(engine);
  const server = await spawnServer(db.path, db.env);
  try {
    return await body(server.api);
  } finally {
    await stop(server.child);
    await db.drop();
  }
}

function overHttp(engine: Engine): Contender {
  let version = 0;
  const submit = (api: string) =>
    post(`${api}/runs`, {
      org_id: `org${version % 3}`,
      app_version_id: `h${version++}`,
      target: "browserstack",
      tests: ["tests/a.spec.js"],
    });
  const register = async (api: string, name: string): Promise<string> =>
    (await post(`${api}/agents`, { name, target: "browserstack" })).json.id;
  return {
    name: `qgjob ${engine} over HTTP`,
    cycles: (workers, depth, seconds) =>
      withServer(engine, async (api) => {
        await parallel(depth, 8, () => submit(api));
        const agents: string[] = [];
        for (let w = 0; w < workers; w++) agents.push(await register(api, `w${w}`));
        return rate(workers, seconds, async (w) => {
          const lease = await post(`${api}/agents/${agents[w]}/lease`, { wait_s: 0 });
          if (lease.status !== 200) return 0;
          const done = await finishLease(api, lease.json);
          for (let i = 0; i < done; i++) await submit(api);
          return done;
        });
      }),
    wakeups: (n) =>
      withServer(engine, async (api) => {
        const agent = await register(api, "idle");
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const polled = post(`${api}/agents/${agent}/lease`, { wait_s: 20 });
          // Let the poll reach the server and park before the job arrives.
          await pause(20 + Math.random() * 30);
          const t0 = performance.now();
          await submit(api);
          const lease = await polled;
          out.push(performance.now() - t0);
          if (lease.status === 200) await finishLease(api, lease.json);
        }
        return out;
      }),
  };
}

export const qgjobContenders: Contender[] = [
  inProcess("sqlite"),
  overHttp("sqlite"),
  inProcess("postgres"),
  overHttp("postgres"),
];

export async function dispatchSection(opts: {
  workers: number[];
  depth: number;
  seconds: number;
  wakeups: number;
  only?: string[];
}): Promise<DispatchResults> {
  const contenders = [...qgjobContenders, ...peers].filter(
    (c) => !opts.only || opts.only.some((o) => c.name.includes(o)),
  );
  const rows: DispatchRow[] = [];
  for (const workers of opts.workers) {
    for (const c of contenders) {
      const jobsPerSecond = Math.round(await c.cycles(workers, opts.depth, opts.seconds));
      process.stderr.write(`dispatch: ${c.name}, ${workers} workers: ${jobsPerSecond} jobs/s\n`);
      rows.push({ name: c.name, workers, jobsPerSecond });
    }
  }
  const wakeups: WakeupRow[] = [];
  for (const c of contenders) {
    if (!c.wakeups) continue;
    const ms = await c.wakeups(opts.wakeups);
    wakeups.push({
      name: c.name,
      p50Ms: +percentile(ms, 50).toFixed(1),
      p99Ms: +percentile(ms, 99).toFixed(1),
    });
  }
  return { depth: opts.depth, rows, wakeups };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "3" },
      depth: { type: "string", default: "1000" },
      workers: { type: "string", default: "1,8,32" },
      wakeups: { type: "string", default: "50" },
      only: { type: "string" },
    },
  });
  const result = await dispatchSection({
    workers: values.workers.split(",").map(Number),
    depth: Number(values.depth),
    seconds: Number(values.seconds),
    wakeups: Number(values.wakeups),
    only: values.only?.split(","),
  });
  console.log(JSON.stringify(result, null, 2));
}
