/**
 * `qgjob logs --follow` on real processes: `qgjob server`, a `qgjob agent` running a shell test
 * that prints a stamped line every second, and the CLI following the job's log. Each line's
 * latency (its arrival on the CLI's stdout minus the stamp the test printed) is reported; the
 * command ends with the test, and then prints the stored log of the finished job. The same with
 * two replicas on Postgres: the agent on one, the CLI on the other.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, expectStatus, tempDir } from "../harness.js";
import { killAll, qgjob, spawnQgjob, spawnServer } from "../processes.js";
import { createTestSchema, enginesUnderTest } from "../store/engines.js";

const LINES = 5;
let dir: string;

beforeAll(() => {
  dir = tempDir("qgjob-logs-e2e-");
  mkdirSync(join(dir, "tests"));
  // A stamp in ms since the epoch, from node (date +%N is not portable).
  const stamp = `"${process.execPath}" -e "process.stdout.write(String(Date.now()))"`;
  writeFileSync(
    join(dir, "tests", "slow.sh"),
    `for i in $(seq 1 ${LINES}); do echo "line $i $(${stamp})"; sleep 1; done\n`,
  );
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

function startAgent(url: string, name: string) {
  return spawnQgjob([
    ...["agent", "--url", url, "--name", name, "--lease-wait", "2s"],
    ...["--target", "device", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", dir],
  ]);
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

/** Submits the slow test on `submitVia` and follows its log with the CLI on `followVia`. */
async function followOnce(submitVia: string, followVia: string, tag: string) {
  const api = client(submitVia);
  const run = await api.post("/api/v1/runs", {
    org_id: "acme",
    app_version_id: "v1",
    target: "device",
    tests: ["tests/slow.sh"],
  });
  expectStatus(run, 201);
  const jobId = run.body.jobs[0]!.id;
  const follow = spawnQgjob(["logs", "--url", followVia, "--job-id", jobId, "--follow"]);
  const arrivals: { line: string; latency: number; jobStatus: Promise<string> }[] = [];
  createInterface({ input: follow.child.stdout! }).on("line", (line) => {
    const m = /^line (\d+) (\d+)$/.exec(line);
    if (!m) return;
    arrivals.push({
      line,
      latency: Date.now() - Number(m[2]),
      jobStatus: api
        .get(`/api/v1/jobs/${jobId}`)
        .then((r) => (r.status === 200 ? r.body.status : `HTTP ${r.status}`)),
    });
  });
  expect(await follow.exited).toBe(0);
  expect(arrivals.map((a) => a.line.split(" ").slice(0, 2).join(" "))).toEqual(
    Array.from({ length: LINES }, (_, i) => `line ${i + 1}`),
  );
  // Streamed as printed: the first line was on screen while the test still ran.
  expect(await arrivals[0]!.jobStatus).toBe("running");
  expect(follow.output()).toMatch(/job passed \(attempt 1\)/);
  const latencies = arrivals.map((a) => a.latency);
  console.log(
    `qgjob logs --follow, line printed to line shown (${tag}, ${LINES} lines): ` +
      `p50 ${pct(latencies, 50)} ms, max ${Math.max(...latencies)} ms`,
  );
  return jobId;
}

describe("qgjob logs", () => {
  it("follows a running test line by line, ends with it, then prints the stored log", async () => {
    const server = await spawnServer(["--db", join(dir, "qgjob.db")]);
    startAgent(server.url, "dev-1");
    const jobId = await followOnce(server.url, server.url, "sqlite");
    // The finished job: its stored output.log, once the agent's upload is in.
    const api = client(server.url);
    for (let i = 0; i < 100; i++) {
      const list = await api.get(`/api/v1/jobs/${jobId}/artifacts`);
      const log =
        list.status === 200
          ? list.body.attempts[0]?.artifacts.find((a) => a.name === "output.log")
          : undefined;
      if (log?.state === "stored") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stored = await qgjob(["logs", "--url", server.url, "--job-id", jobId]);
    expect(stored.code).toBe(0);
    expect(stored.output).toMatch(/^line 1 \d+\nline 2 \d+\n/);
  }, 120_000);
});

const postgres = (await enginesUnderTest()).some((e) => e.name === "postgres");
describe.runIf(postgres)("qgjob logs on another replica (Postgres)", () => {
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  afterAll(async () => {
    killAll();
    await schema?.drop();
  });

  it("follows the test through the relay", async () => {
    schema = await createTestSchema();
    const env = { DATABASE_URL: schema.url, QGJOB_PG_POOL_MAX: "4" };
    const [a, b] = await Promise.all([spawnServer([], env), spawnServer([], env)]);
    startAgent(a!.url, "dev-pg");
    await followOnce(a!.url, b!.url, "postgres, other replica");
  }, 120_000);
});
