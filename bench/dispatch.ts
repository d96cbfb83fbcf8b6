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
 *
 * Flatness (issue 18: dispatch as fast with 100k groups queued or 1,000 agents registered as with
 * 100 or 10): qgjob in process only, `--sweep-workers` claiming, at each depth of `--depths` (as
 * many agents as workers), then with each count of `--fleets` agents registered (the rest idle,
 * each with a few versions installed) at `--fleet-depth` groups. The queue is seeded in bulk
 * (`seedQueue`), the seeding timed apart. Either list alone runs that sweep alone:
 *
 *   npx tsx bench/dispatch.ts --depths 100,10000,100000 --fleets 10,1000 [--fleet-depth 1000]
 *                             [--sweep-workers 8] [--seconds 3]
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { SubmitRunRequest } from "../api/schemas.js";
import { loadConfig, storeOptions } from "../app/config.js";
import { newId } from "../app/ids.js";
import { groupKeyOf } from "../app/store/heads.js";
import { openPostgresStore } from "../app/store/postgres/open.js";
import { SqliteStore } from "../app/store/sqlite/engine.js";
import type { JobRecord, Store } from "../app/store/store.js";
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

export type Engine = "sqlite" | "postgres";

/** One point of a flatness sweep: qgjob in process with `groups` queued and `agents` registered. */
export interface FlatnessRow {
  engine: Engine;
  groups: number;
  agents: number;
  seedSeconds: number;
  jobsPerSecond: number;
  /** jobs/s over the same engine's at the sweep's first point. */
  ratio: number;
}

export interface FlatnessResults {
  workers: number;
  /** By queue depth, as many agents as workers. */
  depths: FlatnessRow[];
  /** By registered agents (the workers among them, the rest idle), at one depth. */
  fleets: FlatnessRow[];
}

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

const options = storeOptions(loadConfig({}, {}));

async function openStore(engine: Engine, path: string): Promise<Store> {
  if (engine === "sqlite") return new SqliteStore(path, options);
  return openPostgresStore({ url: path, poolMax: 10, statementTimeoutMs: 30_000 }, options);
}

type Query = (sql: string, param?: unknown) => Promise<Record<string, unknown>[]>;

/** The names of a table's columns, `?` its name. */
const COLUMNS: Record<Engine, string> = {
  sqlite: "select name from pragma_table_info(?)",
  postgres: `select column_name as name from information_schema.columns
    where table_schema = current_schema() and table_name = ? order by ordinal_position`,
};

/**
 * `work` in one transaction on a connection of its own beside the store's, its statements with
 * one `?` parameter at most (the only placeholder both drivers take).
 */
async function direct<T>(engine: Engine, path: string, work: (query: Query) => Promise<T>) {
  if (engine === "sqlite") {
    const db = new Database(path);
    try {
      db.exec("begin immediate");
      const result = await work(async (sql, ...param) => {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all(...param) as Record<string, unknown>[];
        statement.run(...param);
        return [];
      });
      db.exec("commit");
      return result;
    } finally {
      if (db.inTransaction) db.exec("rollback");
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: path });
  await client.connect();
  try {
    await client.query("begin");
    const result = await work(
      async (sql, ...param) => (await client.query(sql.replace("?", "$1"), param)).rows,
    );
    await client.query("commit");
    return result;
  } finally {
    await client.end();
  }
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
    cycles: async (workers, depth, seconds) =>
      (await trialInProcess(engine, { workers, depth, seconds, agents: workers })).jobsPerSecond,
  };
}

const ORGS = 3;
/** App versions each idle agent has installed: the fleet the claim reads is not bare. */
const INSTALLED_PER_AGENT = 3;

/**
 * Claim + start + complete cycles per second through the Store, `workers` of `agents` registered
 * agents claiming (the rest idle) while every finished job submits one more, so the queue stays
 * `depth` groups deep. The seeding (queue and fleet) is timed apart.
 */
async function trialInProcess(
  engine: Engine,
  trial: { workers: number; depth: number; seconds: number; agents: number },
): Promise<{ jobsPerSecond: number; seedSeconds: number }> {
  if (trial.agents < trial.workers) throw new Error("the workers are among the registered agents");
  const db = await database(engine);
  const store = await openStore(engine, db.path);
  try {
    const t0 = performance.now();
    await seedQueue(engine, db.path, store, trial.depth);
    let version = trial.depth;
    const submit = () => store.submitRun(oneJobRun(version++), {}, Date.now());
    const agents: { id: string }[] = [];
    await parallel(trial.agents, 8, async (a) => {
      // The workers start bare: with queued versions installed, their first claims all win by
      // affinity at once, and on Postgres their results then deadlock on the shared test's
      // history rows for seconds, which is not what this measures.
      const installed =
        a < trial.workers
          ? []
          : Array.from(
              { length: INSTALLED_PER_AGENT },
              (_, i) => `v${(a * INSTALLED_PER_AGENT + i) % trial.depth}`,
            );
      const registration = {
        name: `a${a}`,
        target: "emulator" as const,
        device: null,
        labels: [],
        installed,
      };
      agents[a] = await store.registerAgent(registration, { orgId: null }, Date.now());
    });
    const seedSeconds = (performance.now() - t0) / 1000;
    const jobsPerSecond = await rate(trial.workers, trial.seconds, async (w) => {
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
    return { jobsPerSecond, seedSeconds };
  } finally {
    await store.close();
    await db.drop();
  }
}

/** Run `version`: one job, its own app version (its own group), orgs round-robin. */
const oneJobRun = (version: number) =>
  SubmitRunRequest.parse({
    org_id: `org${version % ORGS}`,
    app_version_id: `v${version}`,
    tests: ["t/a.spec.ts"],
  });

/**
 * Queues `depth` one-job runs, v0 to v(depth-1). Submitting 100k one by one takes minutes on
 * Postgres, so one run per org goes through the store (which also writes the org) and the rest
 * are copies of its rows, in one transaction: every column is copied but the ids, app version,
 * group key and times, so the rows are what a submission writes whatever columns the schema
 * has, and the engine's own triggers on `jobs` keep the queue summaries as for a submission.
 * The store's reads must then agree: the queued count, one summary group per run, and a
 * decision for the next idle agent.
 */
async function seedQueue(engine: Engine, path: string, store: Store, depth: number) {
  const t0 = Date.now() - depth;
  const templates: JobRecord[] = [];
  for (let v = 0; v < Math.min(ORGS, depth); v++) {
    templates.push((await store.submitRun(oneJobRun(v), {}, t0 + v)).jobs[0]!);
  }
  const copies = Array.from({ length: depth - templates.length }, (_, i) => {
    const v = templates.length + i;
    const template = templates[v % ORGS]!;
    return {
      templateJob: template.id,
      templateRun: template.runId,
      job: newId("job", t0 + v),
      run: newId("run", t0 + v),
      version: `v${v}`,
      group: groupKeyOf(options.grouping, { ...template, appVersionId: `v${v}` }),
      at: t0 + v,
    };
  });
  const field = (name: string, type = "text") => `cast(c.value ->> '${name}' as ${type})`;
  await direct(engine, path, async (query) => {
    const copy = async (table: string, template: string, set: Record<string, string>) => {
      const columns = (await query(COLUMNS[engine], table)).map((r) => String(r.name));
      const values = columns.map((c) => set[c] ?? `t.${c}`);
      const from = engine === "sqlite" ? "json_each(?)" : "jsonb_array_elements(?::jsonb)";
      await query(
        `insert into ${table} (${columns.join(", ")}) select ${values.join(", ")}
         from ${from} as c join ${table} t on t.id = ${field(template)}`,
        JSON.stringify(copies),
      );
    };
    await copy("runs", "templateRun", { id: field("run"), created_at: field("at", "bigint") });
    await copy("jobs", "templateJob", {
      id: field("job"),
      run_id: field("run"),
      app_version_id: field("version"),
      group_key: field("group"),
      queued_at: field("at", "bigint"),
      created_at: field("at", "bigint"),
    });
    // A server's autovacuum analyzes tables this changed within a minute, maybe mid-trial:
    // analyze now, so every trial plans its claims on the statistics of the queue it measures.
    if (engine === "postgres") await query("analyze runs, jobs, queue_partitions, queue_groups");
  });
  const now = Date.now();
  const queued = (await store.metrics(now)).queuedByTarget.emulator ?? 0;
  const [groups] = await direct(engine, path, (query) =>
    query("select count(*) as n from queue_groups"),
  );
  const next = (await store.previewNextLeases({ orgId: null }, now)).find(
    (n) => n.target === "emulator",
  );
  if (queued !== depth || Number(groups?.n) !== depth || !next?.decision) {
    throw new Error(
      `seeded ${depth} runs, but the store reads ${queued} queued jobs and ${groups?.n} groups` +
        ` and ${next?.decision ? "a" : "no"} next lease`,
    );
  }
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

/**
 * Issue 18's flatness: qgjob in process on both engines, `workers` claiming, at each queue depth
 * of `depths` (as many agents as workers), then at each fleet size of `fleets` (agents
 * registered, the rest idle) with `fleetDepth` groups queued.
 */
export async function flatnessSection(opts: {
  depths: number[];
  fleets: number[];
  fleetDepth: number;
  workers: number;
  seconds: number;
}): Promise<FlatnessResults> {
  const sweep = async (points: { groups: number; agents: number }[]) => {
    const rows: FlatnessRow[] = [];
    for (const engine of ["sqlite", "postgres"] as const) {
      let first: number | undefined;
      for (const { groups, agents } of points) {
        const trial = { workers: opts.workers, depth: groups, seconds: opts.seconds, agents };
        const { jobsPerSecond, seedSeconds } = await trialInProcess(engine, trial);
        first ??= jobsPerSecond;
        process.stderr.write(
          `flatness: ${engine}, ${groups} groups, ${agents} agents: ${Math.round(jobsPerSecond)} jobs/s (seeded in ${seedSeconds.toFixed(1)} s)\n`,
        );
        rows.push({
          engine,
          groups,
          agents,
          seedSeconds: +seedSeconds.toFixed(2),
          jobsPerSecond: Math.round(jobsPerSecond),
          ratio: +(jobsPerSecond / first).toFixed(2),
        });
      }
    }
    return rows;
  };
  return {
    workers: opts.workers,
    depths: await sweep(opts.depths.map((groups) => ({ groups, agents: opts.workers }))),
    fleets: await sweep(opts.fleets.map((agents) => ({ groups: opts.fleetDepth, agents }))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "3" },
      depth: { type: "string", default: "1000" },
      workers: { type: "string", default: "1,8,32" },
      wakeups: { type: "string", default: "50" },
      only: { type: "string" },
      depths: { type: "string" },
      fleets: { type: "string" },
      "fleet-depth": { type: "string", default: "1000" },
      "sweep-workers": { type: "string", default: "8" },
    },
  });
  const list = (value: string | undefined) => (value ? value.split(",").map(Number) : []);
  const result =
    values.depths || values.fleets
      ? await flatnessSection({
          depths: list(values.depths),
          fleets: list(values.fleets),
          fleetDepth: Number(values["fleet-depth"]),
          workers: Number(values["sweep-workers"]),
          seconds: Number(values.seconds),
        })
      : await dispatchSection({
          workers: list(values.workers),
          depth: Number(values.depth),
          seconds: Number(values.seconds),
          wakeups: Number(values.wakeups),
          only: values.only?.split(","),
        });
  console.log(JSON.stringify(result, null, 2));
}
