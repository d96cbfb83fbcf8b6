/**
 * Section 4, scale: lease latency with a deep queue (N queued jobs across 1,000 groups), and
 * the server's resident memory. The server runs as its own process on a database seeded in
 * one bulk transaction; one agent leases and releases, so the queue stays N deep.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { loadConfig, storeOptions } from "../app/config.js";
import { SqliteStore } from "../app/store/sqlite/engine.js";
import { percentile, post, rssBytes, spawnServer, stop } from "./load.js";

const GROUPS = 1_000;
const ORGS = 10;

export interface ScaleRow {
  queued: number;
  seedSeconds: number;
  leases: number;
  leaseP50Ms: number;
  leaseP99Ms: number;
  serverRssMb: number | null;
}

/** N queued jobs, round-robin over 1,000 (org, app version) groups, written in one transaction. */
function seed(path: string, queued: number) {
  // Opening the store creates and migrates the database (tables, indexes, triggers).
  new SqliteStore(path, storeOptions(loadConfig({}, {}))).close();
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // A large page cache: a million rows and their indexes are written far faster in memory.
  db.pragma("cache_size = -262144");
  const insert = db.prepare(
    `insert into jobs (id, run_id, org_id, app_version_id, target, test_path, tags, priority,
       status, max_attempts, retries, timeout_s, queued_at, created_at)
     values (?, ?, ?, ?, 'emulator', ?, '[]', 5, 'queued', 3, 0, 900, ?, ?)`,
  );
  const t0 = Date.now() - queued;
  db.transaction(() => {
    for (let i = 0; i < queued; i++) {
      const group = i % GROUPS;
      const id = `job_${String(i).padStart(8, "0")}`;
      insert.run(
        id,
        `run_${group}`,
        `org-${group % ORGS}`,
        `v${group}`,
        `tests/${i % 500}.spec.ts`,
        t0 + i,
        t0 + i,
      );
    }
  })();
  db.close();
}

export async function scale(counts: number[], leases: number): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const queued of counts) {
    const dir = mkdtempSync(join(tmpdir(), "qgjob-scale-"));
    try {
      const db = join(dir, "scale.db");
      const s0 = performance.now();
      seed(db, queued);
      const seedSeconds = (performance.now() - s0) / 1000;
      const { child, api } = await spawnServer(db);
      try {
        const agent = (await post(`${api}/agents`, { name: "scale", target: "emulator" })).json.id;
        const latencies: number[] = [];
        // A few leases first: the server's first requests compile and warm its caches.
        for (let i = 0; i < leases + 5; i++) {
          const s = performance.now();
          const lease = await post(`${api}/agents/${agent}/lease`, {});
          if (lease.status !== 200) throw new Error(`lease answered ${lease.status}`);
          if (i >= 5) latencies.push(performance.now() - s);
          await post(`${api}/leases/${lease.json.id}/release`, {});
        }
        rows.push({
          queued,
          seedSeconds: +seedSeconds.toFixed(1),
          leases,
          leaseP50Ms: +percentile(latencies, 50).toFixed(2),
          leaseP99Ms: +percentile(latencies, 99).toFixed(2),
          serverRssMb: rssMb(child.pid!),
        });
      } finally {
        await stop(child);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function rssMb(pid: number): number | null {
  const bytes = rssBytes(pid);
  return bytes === null ? null : Math.round(bytes / 2 ** 20);
}
