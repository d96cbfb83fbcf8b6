/**
 * Statements a server runs per request of the lease cycle, counted at the driver. On Postgres
 * each is a round trip: every query of every pg client in this process (pool, transactions,
 * NOTIFY). On SQLite, every run, get, all or iterate of a prepared statement (in process, so
 * no round trips: the count shows the engines' shapes side by side). The server runs in process
 * on a fresh schema or file; one agent leases one-job groups, then starts and reports each job,
 * over HTTP as agents do.
 *
 *   npx tsx bench/statements.ts [--cycles 20] [--engine postgres|sqlite]
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import pg from "pg";
import { tempDir } from "../test/harness.js";
import { createTestSchema } from "../test/store/engines.js";
import { loadConfig } from "../app/config.js";
import { startServer } from "../app/server.js";
import { post } from "./load.js";

export interface StatementCounts {
  lease: number;
  start: number;
  result: number;
  cycle: number;
  /** An empty poll (nothing queued). */
  emptyPoll: number;
  /** Of 10 empty polls in a row by one agent, how many wrote to the database. */
  idleWrites: number;
  /** A submission of one job. */
  submit: number;
}

let count = 0;
function counting<T extends object>(proto: T, names: (keyof T)[]) {
  for (const name of names) {
    const original = proto[name] as (...a: unknown[]) => unknown;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    } as T[keyof T];
  }
}
counting(pg.Client.prototype, ["query"]);
{
  const probe = new Database(":memory:");
  counting(Object.getPrototypeOf(probe.prepare("select 1")) as Database.Statement, [
    "run",
    "get",
    "all",
    "iterate",
  ]);
  probe.close();
}

export type Engine = "postgres" | "sqlite";

async function counted<T>(work: () => Promise<T>): Promise<{ value: T; statements: number }> {
  const before = count;
  const value = await work();
  // NOTIFYs go out after the commit, a moment later: let them be counted with their request.
  await new Promise((r) => setTimeout(r, 30));
  return { value, statements: count - before };
}

/**
 * The database, and `version()`: a value that changes whenever a write commits (the agent rows'
 * versions on Postgres, where only they are written by an empty poll; SQLite's data_version).
 */
export async function database(engine: Engine) {
  if (engine === "postgres") {
    const schema = await createTestSchema();
    const reader = new pg.Client({ connectionString: schema.url });
    await reader.connect();
    return {
      config: { databaseUrl: schema.url },
      version: async () =>
        (await reader.query("select string_agg(xmin::text, ',') as v from agents")).rows[0].v,
      drop: async () => {
        await reader.end();
        await schema.drop();
      },
    };
  }
  const dir = tempDir("qgjob-statements-");
  const file = join(dir, "q.db");
  let reader: Database.Database | undefined;
  return {
    config: { db: file },
    version: async () => {
      reader ??= new Database(file, { readonly: true });
      return reader.pragma("data_version", { simple: true });
    },
    drop: async () => {
      reader?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Of `polls` empty polls in a row, how many wrote (each measured alone, outside any count). */
async function idleWrites(
  poll: () => Promise<unknown>,
  version: () => Promise<unknown>,
  polls = 10,
) {
  let writes = 0;
  for (let i = 0; i < polls; i++) {
    const before = await version();
    await poll();
    if ((await version()) !== before) writes++;
  }
  return writes;
}

export async function statementsPerCycle(
  cycles: number,
  engine: Engine = "postgres",
): Promise<StatementCounts> {
  const schema = await database(engine);
  const server = await startServer(
    loadConfig({ port: 0, ...schema.config, logLevel: "warn", rateLimitPerS: 0 }, {}),
  );
  try {
    const api = `${server.url}/api/v1`;
    const agent = (await post(`${api}/agents`, { name: "counted", target: "browserstack" })).json;
    const poll = () => post(`${api}/agents/${agent.id}/lease`, { wait_s: 0 });
    const empty = await counted(poll);
    const idle = await idleWrites(poll, schema.version);
    const sums = { lease: 0, start: 0, result: 0, submit: 0 };
    for (let i = 0; i < cycles; i++) {
      const submit = await counted(() =>
        post(`${api}/runs`, {
          org_id: `org${i % 3}`,
          app_version_id: `v${i}`,
          target: "browserstack",
          tests: ["tests/a.spec.js"],
        }),
      );
      const lease = await counted(() => post(`${api}/agents/${agent.id}/lease`, { wait_s: 0 }));
      const job = lease.value.json.jobs[0];
      const base = `${api}/leases/${lease.value.json.id}/jobs/${job.id}`;
      const start = await counted(() => post(`${base}/start`, { attempt: job.attempt }));
      const result = await counted(() =>
        post(`${base}/result`, { attempt: job.attempt, status: "passed", duration_ms: 1000 }),
      );
      sums.submit += submit.statements;
      sums.lease += lease.statements;
      sums.start += start.statements;
      sums.result += result.statements;
    }
    const per = (n: number) => Math.round((n / cycles) * 10) / 10;
    return {
      lease: per(sums.lease),
      start: per(sums.start),
      result: per(sums.result),
      cycle: per(sums.lease + sums.start + sums.result),
      emptyPoll: empty.statements,
      idleWrites: idle,
      submit: per(sums.submit),
    };
  } finally {
    await server.close();
    await schema.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      cycles: { type: "string", default: "20" },
      engine: { type: "string", default: "postgres" },
    },
  });
  const engine = values.engine as Engine;
  console.log(JSON.stringify(await statementsPerCycle(Number(values.cycles), engine)));
}
