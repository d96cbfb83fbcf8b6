/**
 * Reads of big runs stay bounded (issue 19, finding 6). A server process over a SQLite file that
 * holds a finished 5,000-job run and an open 200-job run, every finished job with a result of
 * the largest size an agent may post (64 KiB message, 64 KiB log tail, 50 artifacts with long
 * URLs: about 250 KB each, 1.25 GB in all). Its resident memory is sampled while clients read:
 * the whole 5,000-job run through the typed client (every page), its dashboard page and one job
 * in full; then waiters on the open run (long polls and event streams) while its jobs change.
 * Before the run view paged and summarised its jobs, one read of the big run needed several
 * times its 1.25 GB, and each wake-up of each waiter re-read every result of the open run.
 *
 * The results are written into the file with SQL (posting 5,200 results through agents would
 * take minutes): the same JSON the server stores for a posted result. The file is on /dev/shm
 * when there is one, so the test costs no disk.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { RESULT_TEXT_MAX } from "../../api/schemas.js";
import { loadConfig, storeOptions } from "../../app/config.js";
import { SqliteStore } from "../../app/store/sqlite/engine.js";
import { killAll, spawnServer } from "../processes.js";
import { sleep } from "./api-agent.js";

const BIG_RUN = 5000;
const OPEN_RUN = 200;
const OPEN_QUEUED = 10;
const MiB = 1024 * 1024;
/** Growth of the server's resident memory allowed while reading (it was gigabytes). */
const READ_BOUND_MB = 250;
const WAIT_BOUND_MB = 150;
/** Past this the server is stopped at once: the old code would take the machine with it. */
const KILL_AT_MB = 1500;

const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "qgjob-reads-"));
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The largest result ResultRequest admits, as the store keeps it. */
function maximumResult(): string {
  const artifacts = Array.from({ length: 50 }, (_, i) => ({
    name: `screenshot-${i}-${"n".repeat(230)}.png`,
    url: `https://evidence.example/${i}/${"u".repeat(2000)}`,
    content_type: "image/png",
    kind: "screenshot",
    sha256: "a".repeat(64),
    size: 123_456,
  }));
  const message = `expected the banner to read "Welcome"\n${"at line\n".repeat(RESULT_TEXT_MAX / 8)}`;
  return JSON.stringify({
    message: message.slice(0, RESULT_TEXT_MAX),
    file: `tests/${"d/".repeat(400)}home.spec.ts`,
    line: 42,
    log_tail: "o".repeat(RESULT_TEXT_MAX),
    artifacts,
  });
}

/** Two runs: every job of the first failed with a maximum result; the second has 10 still queued. */
async function seed(db: string) {
  // Big pages and no journal while seeding: 1.25 GB goes in seconds, not half a minute.
  const empty = new Database(db);
  empty.exec("pragma page_size = 65536; vacuum;");
  empty.close();
  const store = new SqliteStore(db, storeOptions(loadConfig({}, {})));
  const submit = async (n: number, version: string) =>
    (
      await store.submitRun(
        {
          org_id: "acme",
          app_version_id: version,
          target: "emulator",
          tests: Array.from({ length: n }, (_, i) => `tests/t${i}.spec.ts`),
          priority: 0,
          retries: 0,
          max_attempts: 1,
          timeout_s: 600,
          tags: [],
          source: "api",
        },
        {},
        Date.now(),
      )
    ).run.id;
  const big = await submit(BIG_RUN, "big-1");
  const open = await submit(OPEN_RUN, "open-1");
  await store.close();
  const raw = new Database(db);
  raw.exec("pragma journal_mode = off; pragma synchronous = off;");
  const now = Date.now();
  const fail = raw.prepare(
    `update jobs set status = 'failed', attempts = 1, started_at = ?, finished_at = ?,
       duration_ms = 1000, result = ? where run_id = ? and id not in
       (select id from jobs where run_id = ? order by id desc limit ?)`,
  );
  const result = maximumResult();
  raw.transaction(() => {
    fail.run(now - 1000, now, result, big, big, 0);
    fail.run(now - 1000, now, result, open, open, OPEN_QUEUED);
  })();
  raw.close();
  return { big, open, resultBytes: result.length };
}

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
};

/** The server's highest resident memory while `work` runs, above what it was before. */
async function peakGrowth(pid: number, work: () => Promise<void>) {
  const before = rssMb(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
    if (peak - before > KILL_AT_MB) process.kill(pid, "SIGKILL");
  }, 25);
  let failed: string | null = null;
  try {
    await work();
  } catch (err) {
    failed = (err as Error).message;
  } finally {
    clearInterval(timer);
  }
  if (peak - before <= KILL_AT_MB) peak = Math.max(peak, rssMb(pid));
  return { before, peak, growth: peak - before, failed };
}

/** Reads an event stream for `ms`, keeping only its size. */
async function watch(url: string, ms: number): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  let bytes = 0;
  try {
    for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
  } catch {
    // the timeout ends it
  }
  return bytes;
}

describe("reads of big runs", () => {
  it("reads a 5,000-job run of maximum-size results, and serves waiters on an open run, in bounded memory", async () => {
    const db = join(dir, "qgjob.db");
    const seeded = await seed(db);
    const server = await spawnServer(["--db", db]);
    const pid = server.child.pid!;
    const api = new QgjobClient({ baseUrl: server.url, timeoutMs: 60_000, retries: 0 });

    let jobs = 0;
    let pageBytes = 0;
    let jobBytes = 0;
    let firstLine = "";
    const read = await peakGrowth(pid, async () => {
      const run = await api.getRun(seeded.big);
      jobs = run.jobs.length;
      firstLine = run.jobs[0]!.result!.message!;
      const page = await fetch(`${server.url}/runs/${seeded.big}`);
      expect(page.status).toBe(200);
      pageBytes = (await page.text()).length;
      const whole = await api.getJob(run.jobs[0]!.id);
      jobBytes = JSON.stringify(whole).length;
      expect(whole.result!.log_tail).toHaveLength(RESULT_TEXT_MAX);
      expect(whole.result!.artifacts).toHaveLength(50);
    });
    console.log(
      `5,000-job run of ${(seeded.resultBytes / 1024).toFixed(0)} KB results ` +
        `(${((BIG_RUN * seeded.resultBytes) / MiB).toFixed(0)} MiB stored): ${jobs} jobs read ` +
        `through the client, dashboard page ${(pageBytes / 1024).toFixed(0)} KB, one whole job ` +
        `${(jobBytes / 1024).toFixed(0)} KB; server RSS ${read.before.toFixed(0)} -> ` +
        `${read.peak.toFixed(0)} MB (+${read.growth.toFixed(0)})` +
        (read.failed ? `; the read failed: ${read.failed}` : ""),
    );
    expect(read.failed).toBeNull();
    expect(jobs).toBe(BIG_RUN);
    expect(firstLine).toBe('expected the banner to read "Welcome"');
    expect(read.growth).toBeLessThan(READ_BOUND_MB);

    // Waiters on the open run, woken by each of its queued jobs being cancelled but the last.
    const queued = (await api.getRun(seeded.open)).jobs.filter((j) => j.status === "queued");
    let answered = 0;
    const wait = await peakGrowth(pid, async () => {
      const waiters = Array.from({ length: 5 }, () =>
        api.waitRun(seeded.open, 8).then((r) => {
          if (r.jobs.length === OPEN_RUN) answered++;
        }),
      );
      const streams = Array.from({ length: 3 }, () =>
        watch(`${server.url}/api/v1/runs/${seeded.open}/events`, 8000),
      );
      for (const job of queued.slice(0, -1)) {
        await sleep(300);
        await api.cancelJob(job.id);
      }
      await Promise.all([...waiters, ...streams]);
    });
    console.log(
      `5 waiters and 3 event streams on an open ${OPEN_RUN}-job run, ${queued.length - 1} ` +
        `wake-ups: server RSS ${wait.before.toFixed(0)} -> ${wait.peak.toFixed(0)} MB ` +
        `(+${wait.growth.toFixed(0)})` +
        (wait.failed ? `; the waits failed: ${wait.failed}` : ""),
    );
    expect(wait.failed).toBeNull();
    expect(answered).toBe(5);
    expect(wait.growth).toBeLessThan(WAIT_BOUND_MB);
  });
});
