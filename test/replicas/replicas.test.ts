/**
 * Scale-out for real: three `qgjob server` processes on one Postgres database (a schema of its
 * own) and one S3 bucket (s3rver). Evidence uploaded through one replica is served by the
 * others, and a link one signed opens on another. Then eight `qgjob agent` processes spread across them running a real command per test, and
 * 2,000 jobs. Midway one replica is killed with SIGKILL; its agents are restarted against the
 * surviving replicas under the same names (what a load balancer does for them), which settles
 * the leases they held. The database's own history then shows every job ended once, no job held
 * by two live leases at a time, and every result recorded once.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { seedFlakyEvidence, sha256 } from "../evidence.js";
import { bodyOf, client, expectStatus, tempDir } from "../harness.js";
import { startLocalS3, type LocalS3 } from "../s3rver.js";
import { killAll, spawnQgjob, spawnServer, type Spawned } from "../processes.js";
import { createTestSchema, enginesUnderTest } from "../store/engines.js";

const JOBS = 2000;
const AGENTS = 8;
const runReal = (await enginesUnderTest()).some((e) => e.name === "postgres");
const suites = runReal ? [describe] : [];

interface Replica {
  url: string;
  process: Spawned;
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

for (const suite of suites) {
  suite("three replicas on one Postgres database", () => {
    let schema: Awaited<ReturnType<typeof createTestSchema>>;
    let s3: LocalS3;
    const replicas: Replica[] = [];
    const agents = new Map<string, Spawned>();

    const startAgent = (name: string, replica: Replica) =>
      agents.set(
        name,
        spawnQgjob([
          ...["agent", "--url", replica.url, "--name", name, "--target", "emulator"],
          ...["--runner", "command", "--command", "true {test}", "--lease-wait", "2s"],
        ]),
      );

    beforeAll(async () => {
      schema = await createTestSchema();
      s3 = await startLocalS3();
      const env = {
        ...s3.env,
        QGJOB_BLOB_URL: `s3://${s3.bucket}/replicas`,
        // Links signed by one replica are checked by another.
        QGJOB_LINK_SECRET: "replicas-share-this-link-secret",
        DATABASE_URL: schema.url,
        QGJOB_REAP_INTERVAL_S: "0.5",
        QGJOB_PG_POOL_MAX: "5",
      };
      // Started together: the migration runs once, under the advisory lock.
      // Each with a disk of its own, as on separate machines: only the bucket is shared.
      const started = await Promise.all(
        [0, 1, 2].map(() =>
          spawnServer([], { ...env, QGJOB_BLOB_DIR: tempDir("qgjob-replica-disk-") }),
        ),
      );
      for (const s of started) replicas.push({ url: s.url, process: s });
    }, 120_000);

    afterAll(async () => {
      killAll();
      await schema?.drop();
      await s3?.close();
    });

    it("serves evidence uploaded through one replica from the others, and their signed links", async () => {
      const [one, two, three] = replicas.map((r) => r.url) as [string, string, string];
      const seeded = await seedFlakyEvidence(one, undefined);
      const dir = tempDir("qgjob-replica-evidence-");
      const other = new QgjobClient({ baseUrl: two, retries: 0 });
      const listed = await other.listArtifacts(seeded.jobId);
      const first = listed.attempts[0]!.artifacts;
      for (const [name, bytes] of [
        ["test-failed-1.png", seeded.screenshot],
        ["video.webm", seeded.video],
      ] as const) {
        const path = join(dir, name);
        const index = first.find((a) => a.name === name)!.index;
        await other.downloadArtifact({ jobId: seeded.jobId, attempt: 1, index }, path);
        expect(sha256(readFileSync(path))).toBe(sha256(bytes));
      }
      // Links the first replica signed (as for a check run) open on the third, with no token.
      const shared = await new QgjobClient({ baseUrl: one, retries: 0 }).listArtifacts(
        seeded.jobId,
        { share: true },
      );
      const video = shared.attempts[0]!.artifacts.find((a) => a.name === "video.webm")!;
      const res = await fetch(three + video.url!, { headers: { range: "bytes=100-199" } });
      expect(res.status).toBe(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(seeded.video.subarray(100, 200))).toBe(
        true,
      );
      const page = await fetch(three + shared.page);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("video.webm");
    });

    it("runs 2,000 jobs through eight agents, survives losing a replica, and ends each job once", async () => {
      const api = client(replicas[0]!.url);
      const tests = Array.from(
        { length: JOBS },
        (_, i) => `tests/t${String(i).padStart(4, "0")}.spec.ts`,
      );
      const submitted = await api.post("/api/v1/runs", {
        org_id: "acme",
        app_version_id: "v1",
        tests,
        max_attempts: 5,
      });
      expectStatus(submitted, 201);
      const runId = submitted.body.id;

      for (let i = 0; i < AGENTS; i++) startAgent(`agent-${i}`, replicas[i % 3]!);
      const progress = () =>
        client(replicas[1]!.url)
          .get(`/api/v1/runs/${runId}`)
          .then((r) => bodyOf(r).counts);

      await until(progress, (c) => c.passed >= JOBS / 4, 240_000);
      // SIGKILL: no drain, transactions in flight die with their connections.
      replicas[2]!.process.child.kill("SIGKILL");
      const orphans = [...agents.keys()].filter((_, i) => i % 3 === 2);
      for (const [n, name] of orphans.entries()) {
        agents.get(name)!.child.kill("SIGKILL");
        startAgent(name, replicas[n % 2]!);
      }

      const counts = await until(progress, (c) => c.passed === JOBS, 300_000);
      expect(counts).toMatchObject({ total: JOBS, passed: JOBS });
      const run = bodyOf(await api.get(`/api/v1/runs/${runId}`));
      expect(run.status).toBe("passed");

      const db = new pg.Client({ connectionString: schema.url });
      await db.connect();
      try {
        // This run's jobs only: the evidence test before this one left a run of its own.
        const { rows: jobs } = await db.query<{ status: string; n: number }>(
          "select status, count(*)::int as n from jobs where run_id = $1 group by status",
          [runId],
        );
        expect(jobs).toEqual([{ status: "passed", n: JOBS }]);
        // Every result recorded once: one passing attempt per job, and no attempt left open.
        const { rows: results } = await db.query<{ passes: number; open: number; jobs: number }>(
          `select count(*) filter (where status = 'passed')::int as passes,
                  count(*) filter (where status in ('leased', 'running'))::int as open,
                  count(distinct job_id)::int as jobs
             from job_attempts where job_id in (select id from jobs where run_id = $1)`,
          [runId],
        );
        expect(results[0]).toEqual({ passes: JOBS, open: 0, jobs: JOBS });
        const { rows: doubles } = await db.query(
          `select job_id from job_attempts where status = 'passed' group by job_id having count(*) > 1`,
        );
        expect(doubles).toEqual([]);
        // Never two live leases on one job: each attempt under a new lease began only after the
        // attempt before it was closed (by its result, or by settling its lost lease).
        const { rows: overlaps } = await db.query(
          `select a.job_id, a.attempt, b.attempt as next_attempt
             from job_attempts a
             join job_attempts b on b.job_id = a.job_id and b.attempt > a.attempt and b.lease_id <> a.lease_id
             join leases lb on lb.id = b.lease_id
            where a.finished_at is null or a.finished_at > lb.created_at`,
        );
        expect(overlaps).toEqual([]);
        // The kill really cost work: the killed replica's agents had leases that were settled.
        const { rows: settled } = await db.query<{ n: number }>(
          "select count(*)::int as n from leases where end_reason in ('restarted', 'expired')",
        );
        expect(settled[0]!.n).toBeGreaterThan(0);
        const { rows: live } = await db.query<{ n: number }>(
          "select count(*)::int as n from leases where ended_at is null and expires_at > $1",
          [Date.now()],
        );
        expect(live[0]!.n).toBeLessThanOrEqual(AGENTS);
      } finally {
        await db.end();
      }
    }, 600_000);
  });
}
