/**
 * Server crashes under load, with every part its own process: two clients submit runs back to
 * back and two agents run them, while the server is killed with SIGKILL again and again and
 * restarted on the same SQLite file and port. Afterwards every submission that got a 2xx is
 * stored as answered, every result that got a 2xx is recorded once with its status, and every
 * job reaches a terminal state once the agents reconnect.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { isTerminal } from "../../api/status.js";
import { closedPort, tempDir } from "../harness.js";
import { killAll, spawnQgjob, spawnServer, TSX, type Spawned } from "../processes.js";

const KILLS = 20;
const LOAD_CLIENTS = 2;
const AGENTS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${what}`);
    await sleep(200);
  }
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("server killed under load", () => {
  const dir = tempDir("qgjob-faults-crash-");
  const loadClients: ChildProcess[] = [];
  afterAll(() => {
    for (const child of loadClients) child.kill("SIGKILL");
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses nothing acknowledged across ${KILLS} SIGKILLs and restarts`, async () => {
    const db = join(dir, "qgjob.db");
    const port = await closedPort();
    const env = {
      QGJOB_LEASE_TTL_S: "4",
      QGJOB_REAP_INTERVAL_S: "0.5",
      // Every client here shares one address; the limit is not what this test is about.
      QGJOB_RATE_LIMIT_PER_S: "0",
    };
    const start = () => spawnServer(["--db", db, "--port", String(port)], env);
    let server = await start();
    const url = server.url;

    const agents: Spawned[] = [];
    for (let i = 0; i < AGENTS; i++) {
      agents.push(
        spawnQgjob([
          ...["agent", "--url", url, "--name", `crash-agent-${i}`, "--target", "emulator"],
          ...["--runner", "command", "--command", "true {test}", "--lease-wait", "1s", "--json"],
        ]),
      );
    }
    const loads = Array.from({ length: LOAD_CLIENTS }, (_, i) => {
      const child = spawn(process.execPath, [...TSX, join(import.meta.dirname, "load-client.ts")], {
        env: { ...process.env, QGJOB_URL: url, LOAD_NAME: `load${i}` },
        stdio: ["ignore", "pipe", "inherit"],
      });
      loadClients.push(child);
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      return { child, output: () => out };
    });

    let survived = 0;
    for (let k = 0; k < KILLS; k++) {
      await sleep(300 + Math.random() * 700);
      server.child.kill("SIGKILL");
      await server.exited;
      server = await start();
      survived++;
    }
    // Let the load run against the last server a little, then stop submitting.
    await sleep(1000);
    for (const l of loads) l.child.kill("SIGKILL");
    // The last line may be cut short by the kill: parse only whole ones.
    const acknowledged = loads.flatMap((l) =>
      jsonLines(l.output().slice(0, l.output().lastIndexOf("\n") + 1)),
    ) as unknown as { run: string; jobs: [string, string][] }[];

    const reader = new Database(db, { readonly: true });
    try {
      const jobRows = () =>
        reader.prepare("SELECT id, run_id, test_path, status FROM jobs").all() as {
          id: string;
          run_id: string;
          test_path: string;
          status: string;
        }[];
      await until(
        "every job reaches a terminal state",
        () => jobRows().every((j) => isTerminal(j.status)),
        120_000,
      );

      // Every acknowledged submission is there, job for job.
      const byId = new Map(jobRows().map((j) => [j.id, j]));
      expect(acknowledged.length).toBeGreaterThan(KILLS);
      for (const sub of acknowledged) {
        for (const [jobId, testPath] of sub.jobs) {
          expect(byId.get(jobId), `job ${jobId} of acknowledged run ${sub.run}`).toMatchObject({
            run_id: sub.run,
            test_path: testPath,
          });
        }
      }

      // Every acknowledged result is recorded once, as posted.
      const posted = agents
        .flatMap((a) => jsonLines(a.output()))
        .filter((l) => l.msg === "result posted") as {
        job: string;
        attempt: number;
        status: string;
      }[];
      expect(posted.length).toBeGreaterThan(0);
      const attempt = reader.prepare(
        "SELECT status FROM job_attempts WHERE job_id = ? AND attempt = ?",
      );
      const seen = new Set<string>();
      for (const p of posted) {
        const key = `${p.job}#${p.attempt}`;
        expect(seen.has(key), `result ${key} acknowledged twice`).toBe(false);
        seen.add(key);
        expect(attempt.all(p.job, p.attempt), key).toEqual([{ status: p.status }]);
      }
      const outcomes = Object.fromEntries(
        (
          reader.prepare("SELECT status, count(*) AS n FROM jobs GROUP BY status").all() as {
            status: string;
            n: number;
          }[]
        ).map((r) => [r.status, r.n]),
      );
      console.log(
        `server crashes: ${survived} SIGKILLs survived; ${acknowledged.length} acknowledged ` +
          `submissions (${acknowledged.length * 2} jobs) all stored; ${posted.length} acknowledged ` +
          `results each recorded once; jobs at the end ${JSON.stringify(outcomes)}`,
      );
    } finally {
      reader.close();
    }
  });
});
