/**
 * Scale-out benchmark: lease+start+result cycles per second with one and with three `qgjob
 * server` replicas on one Postgres database (and one on SQLite, for scale), and the latency of
 * the lease request itself.
 * Each configuration gets a fresh schema. AGENTS simulated agents (HTTP, keep-alive) are spread
 * round-robin over the replicas; each job is its own group (its own app version), so every lease
 * holds one job and a cycle is lease -> start -> result. A feeder keeps about DEPTH jobs queued,
 * submitting through the replicas in turn, so the queue the scheduler reads stays the same size.
 *
 *   npx tsx bench/replicas.ts                     # needs Postgres at 127.0.0.1:5432
 *   BENCH_SECONDS=20 DATABASE_URL=postgres://... npx tsx bench/replicas.ts
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { finishLease, percentile, post } from "./load.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 16);
const DEPTH = Number(process.env.BENCH_DEPTH ?? 64);
const BASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const children: ChildProcess[] = [];
/** A server on `database`: a postgres:// URL, or a SQLite file path. */
function startServer(database: string): Promise<string> {
  const sqlite = !database.startsWith("postgres");
  const args = ["--import", "tsx", "cli/main.ts", "server", "--port", "0"];
  const child = spawn(process.execPath, sqlite ? [...args, "--db", database] : args, {
    env: {
      ...process.env,
      DATABASE_URL: sqlite ? "" : database,
      QGJOB_LOG_LEVEL: "info",
      // As bench/load.ts's spawnServer: measure the load, do not rate-limit it.
      QGJOB_RATE_LIMIT_PER_S: "0",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /"url":"([^"]+)"/.exec(line);
      if (m && line.includes("qgjob server listening")) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

async function admin(text: string) {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function measure(engine: "sqlite" | "postgres", replicas: number) {
  const schema = `qgjob_bench_${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "qgjob-bench-"));
  const url = new URL(BASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  const database = engine === "sqlite" ? join(dir, "bench.db") : url.toString();
  if (engine === "postgres") await admin(`create schema ${schema}`);
  const started = children.length;
  try {
    // One at a time: the first migrates; the rest find the schema ready.
    const servers: string[] = [];
    for (let i = 0; i < replicas; i++) servers.push(`${await startServer(database)}/api/v1`);
    const ids: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const api = servers[i % replicas]!;
      ids.push(
        (await post(`${api}/agents`, { name: `bench-${i}`, target: "browserstack" })).json.id,
      );
    }

    let seq = 0;
    let queued = 0;
    const submitOne = async () => {
      queued++;
      const r = await post(`${servers[seq % replicas]}/runs`, {
        org_id: `org${seq % 3}`,
        app_version_id: `cyc-${seq++}`,
        target: "browserstack",
        tests: [`tests/${seq}.spec.js`],
      });
      if (r.status !== 201) throw new Error(`submit: ${r.status}`);
    };
    while (queued < DEPTH) await submitOne();

    const t0 = performance.now();
    const until = t0 + SECONDS * 1000;
    const leaseMs: number[] = [];
    let cycles = 0;
    let empty = 0;
    const feeders = Array.from({ length: 4 }, async () => {
      while (performance.now() < until) {
        if (queued < DEPTH) await submitOne();
        else await new Promise((r) => setTimeout(r, 2));
      }
    });
    const workers = ids.map(async (id, i) => {
      const api = servers[i % replicas]!;
      while (performance.now() < until) {
        const s = performance.now();
        const lease = await post(`${api}/agents/${id}/lease`, {});
        leaseMs.push(performance.now() - s);
        if (lease.status !== 200) {
          empty++;
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        queued -= lease.json.jobs.length;
        cycles += await finishLease(api, lease.json);
      }
    });
    await Promise.all([...feeders, ...workers]);
    const seconds = (performance.now() - t0) / 1000;
    return {
      engine,
      replicas,
      agents: AGENTS,
      cycles_per_s: Math.round(cycles / seconds),
      lease_p50_ms: +percentile(leaseMs, 50).toFixed(1),
      lease_p99_ms: +percentile(leaseMs, 99).toFixed(1),
      empty_leases: empty,
    };
  } finally {
    for (const c of children.splice(started)) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    if (engine === "postgres") await admin(`drop schema ${schema} cascade`);
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const rows = [];
  const configs = [
    ["sqlite", 1],
    ["postgres", 1],
    ["postgres", 3],
  ] as const;
  for (const [engine, n] of configs) {
    const row = await measure(engine, n);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.log(
    "\n| engine | replicas | agents | cycles/s | lease p50 ms | lease p99 ms |\n|---|---|---|---|---|---|",
  );
  for (const r of rows) {
    console.log(
      `| ${r.engine} | ${r.replicas} | ${r.agents} | ${r.cycles_per_s} | ${r.lease_p50_ms} | ${r.lease_p99_ms} |`,
    );
  }
} finally {
  for (const c of children) c.kill("SIGTERM");
}
