/**
 * The client commands (`submit`, `status`, `wait`, `cancel`) as real processes against a real
 * server, with the test playing the agent's part over HTTP. Every CLI call is spawned (never
 * spawnSync): the server runs in this process and must keep answering while the CLI waits.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import { CLI } from "../built.js";
import {
  bodyOf,
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  submit,
  tempDir,
  type Client,
  type TestServer,
} from "../harness.js";

const SLOW = 30_000;

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let server: TestServer;
let api: Client;
const dirs: string[] = [];

beforeEach(async () => {
  server = await startTestServer();
  api = client(server.url);
});
afterEach(async () => {
  await server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `qgjob …` against the test server (unless --url is given) and collects its output. */
function qgjob(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Out> {
  const env: NodeJS.ProcessEnv = { ...process.env, QGJOB_URL: server.url, ...opts.env };
  if (!opts.env?.QGJOB_TOKEN) delete env.QGJOB_TOKEN;
  const t0 = Date.now();
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

const SEED = ["--org-id=qualgent", "--app-version-id=xyz123"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Outcome = { status: "passed" | "failed" | "error" | "timed_out"; extra?: object };

/**
 * Plays one agent: waits for work, then ends each leased job with the outcome for its test,
 * a little apart so progress has something to show. Resolves with the number of jobs it ran.
 */
async function playAgent(outcomes: Record<string, Outcome>, jobs: number): Promise<number> {
  const agent = await registerAgent(api, `pixel-${Math.random().toString(36).slice(2, 8)}`);
  let done = 0;
  const deadline = Date.now() + 20_000;
  while (done < jobs && Date.now() < deadline) {
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 2 });
    if (lease.status !== 200) continue;
    for (const job of lease.body.jobs) {
      await sleep(300);
      const want = outcomes[job.test_path] ?? { status: "passed" };
      const res = await finishJob(api, lease.body.id, job, want.status, {
        duration_ms: 4200,
        ...want.extra,
      });
      expect(res.status).toBe(200);
      done++;
    }
  }
  return done;
}

/** The ids in human output. */
const ids = (text: string, prefix: "run" | "job") =>
  [...text.matchAll(new RegExp(`\\b${prefix}_[0-9A-Z]{26}\\b`, "g"))].map((m) => m[0]);

const noStack = (out: Out) => expect(out.stderr).not.toMatch(/\n\s+at /);

describe("qgjob submit and status", () => {
  it(
    "the seed's two lines: submit prints the run and job ids, status --job-id shows the job",
    async () => {
      const submitted = await qgjob(["submit", ...SEED, "--test=tests/onboarding.spec.js"]);
      expect(submitted).toMatchObject({ code: 0, stderr: "" });
      const [runId] = ids(submitted.stdout, "run");
      const [jobId] = ids(submitted.stdout, "job");
      expect(runId && jobId).toBeTruthy();
      expect(submitted.stdout).toContain("tests/onboarding.spec.js");
      // The run's dashboard page, on the server the CLI talked to, and it opens.
      const page = `${server.url}/runs/${runId}`;
      expect(submitted.stdout).toContain(`page ${page}\n`);
      expect((await fetch(page)).status).toBe(200);

      const [byJob, byRun] = await Promise.all([
        qgjob(["status", `--job-id=${jobId}`]),
        qgjob(["status", "--run-id", runId!, "--json"]),
      ]);
      expect(byJob.code).toBe(0); // queued is not a failure: status is informational
      expect(byJob.stdout).toMatch(/JOB\s+TEST\s+STATUS\s+ATTEMPTS\s+DURATION\s+FLAKY\s+FAILURE/);
      expect(byJob.stdout).toMatch(new RegExp(`${jobId}\\s+tests/onboarding.spec.js\\s+queued`));
      expect(byRun.code).toBe(0);
      const run = JSON.parse(byRun.stdout);
      expect(run).toMatchObject({ id: runId, source: "cli", status: "queued" });
      expect(run.jobs.map((j: any) => j.id)).toEqual([jobId]);
    },
    SLOW,
  );

  it(
    "expands globs locally, keeps plain paths as given, and refuses a glob matching nothing",
    async () => {
      const dir = tempDir("qgjob-specs-");
      dirs.push(dir);
      mkdirSync(join(dir, "tests/nested"), { recursive: true });
      mkdirSync(join(dir, "node_modules/pkg/tests"), { recursive: true });
      for (const f of [
        "tests/b.spec.js",
        "tests/a.spec.js",
        "tests/nested/c.spec.js",
        "tests/notes.txt",
        "node_modules/pkg/tests/x.spec.js",
      ]) {
        writeFileSync(join(dir, f), "// spec\n");
      }
      const [many, none] = await Promise.all([
        qgjob(
          [
            "submit",
            ...SEED,
            "--test",
            "tests/a.spec.js",
            "--test",
            "**/*.spec.js",
            "--test",
            "./remote/only-on-the-agent.spec.js",
            "--tag",
            "@smoke",
            "--priority",
            "8",
            "--json",
          ],
          { cwd: dir },
        ),
        qgjob(["submit", ...SEED, "--test", "tests/*.spec.ts"], { cwd: dir }),
      ]);
      expect(many.code).toBe(0);
      const run = JSON.parse(many.stdout);
      expect(run.jobs.map((j: any) => j.test_path)).toEqual([
        "tests/a.spec.js",
        "tests/b.spec.js",
        "tests/nested/c.spec.js",
        "remote/only-on-the-agent.spec.js",
      ]);
      expect(run.jobs[0]).toMatchObject({ tags: ["@smoke"], priority: 8 });

      expect(none.code).toBe(2);
      expect(none.stderr.trim()).toMatch(/^qgjob: --test tests\/\*\.spec\.ts: no files match/);
      expect(none.stderr.trim().split("\n")).toHaveLength(1);
    },
    SLOW,
  );
});

describe("qgjob submit --wait and qgjob wait", () => {
  it(
    "waits for a run that passes while an agent runs it, printing progress, and exits 0",
    async () => {
      const waiting = qgjob([
        "submit",
        ...SEED,
        "--test",
        "tests/a.spec.js",
        "--test",
        "tests/b.spec.js",
        "--wait",
        "--timeout",
        "1m",
      ]);
      const ran = await playAgent({}, 2);
      const out = await waiting;
      expect(ran).toBe(2);
      expect(out.code).toBe(0);
      // Not a terminal: a line per change on stderr, a line per job as it ends.
      expect(out.stderr).toMatch(
        /^\[\d\d:\d\d\] \d queued · \d running · 0 passed · 0 failed · 0 flaky$/m,
      );
      expect(out.stderr).toMatch(/^✓ tests\/a\.spec\.js 4\.2s$/m);
      expect(out.stderr).toMatch(/^✓ tests\/b\.spec\.js 4\.2s$/m);
      expect(out.stderr).toMatch(/0 queued · 0 running · 2 passed · 0 failed · 0 flaky$/m);
      expect(out.stderr).not.toContain("\r");
      expect(out.stdout).toMatch(/^run run_\w+ passed \(waited \d\d:\d\d\): .*2 passed/m);

      // Waiting on a job that already ended answers at once with its outcome.
      const [jobId] = ids(out.stdout, "job");
      const again = await qgjob(["wait", "--job-id", jobId!, "--json"]);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ id: jobId, status: "passed" });
      expect(again.stderr).toBe(""); // --json: no progress
    },
    SLOW,
  );

  it(
    "exits 1 when a test fails, showing the message and file:line; status agrees",
    async () => {
      const waiting = qgjob([
        "submit",
        ...SEED,
        "--test",
        "tests/a.spec.js",
        "--test",
        "tests/b.spec.js",
        "--wait",
      ]);
      await playAgent(
        {
          "tests/b.spec.js": {
            status: "failed",
            extra: {
              message: "expected 1 to be 2\n    at tests/b.spec.js:7:5",
              file: "tests/b.spec.js",
              line: 7,
            },
          },
        },
        2,
      );
      const out = await waiting;
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(
        /^✗ tests\/b\.spec\.js 4\.2s {2}expected 1 to be 2 \(tests\/b\.spec\.js:7\)$/m,
      );
      expect(out.stdout).toMatch(/^run run_\w+ failed/m);
      expect(out.stdout).toMatch(
        /Failures \(1\):\n {2}✗ tests\/b\.spec\.js .*expected 1 to be 2 \(tests\/b\.spec\.js:7\)/,
      );

      const [runId] = ids(out.stdout, "run");
      const [human, json] = await Promise.all([
        qgjob(["status", "--run-id", runId!]),
        qgjob(["status", "--run-id", runId!, "--json"]),
      ]);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(
        /tests\/b\.spec\.js\s+failed\s+1\s+4\.2s\s+expected 1 to be 2 \(tests\/b\.spec\.js:7\)/,
      );
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ id: runId, status: "failed" });
    },
    SLOW,
  );

  it(
    "wait --timeout 2s on a run nobody runs exits 4 after about two seconds",
    async () => {
      const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js"] }));
      const out = await qgjob(["wait", "--run-id", run.id, "--timeout", "2s"]);
      expect(out.code).toBe(4);
      expect(out.ms).toBeGreaterThanOrEqual(2000);
      expect(out.ms).toBeLessThan(10_000);
      expect(out.stdout).toMatch(
        /timed out after 2\.0s waiting for run run_\w+, still queued: 1 queued/,
      );
    },
    SLOW,
  );
});

describe("qgjob cancel", () => {
  it(
    "cancels a run and a job; a cancelled run reads as not passed (exit 1)",
    async () => {
      const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js", "tests/b.spec.js"] }));
      const other = bodyOf(await submit(api, { tests: ["tests/c.spec.js"] }));
      const [byRun, byJob] = await Promise.all([
        qgjob(["cancel", "--run-id", run.id]),
        qgjob(["cancel", "--job-id", other.jobs[0]!.id, "--json"]),
      ]);
      expect(byRun.code).toBe(0);
      expect(byRun.stdout).toMatch(new RegExp(`^run ${run.id}  cancelled .*2 cancelled`));
      expect(byJob.code).toBe(0);
      expect(JSON.parse(byJob.stdout)).toMatchObject({ status: "cancelled" });

      const status = await qgjob(["status", "--run-id", run.id]);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/tests\/a\.spec\.js\s+cancelled/);
    },
    SLOW,
  );
});

describe("qgjob rerun", () => {
  it(
    "queues a run's failed test again and, with --wait, exits with the new outcome",
    async () => {
      const run = bodyOf(await submit(api, { tests: ["tests/a.spec.js", "tests/b.spec.js"] }));
      const agent = await registerAgent(api, "pixel-7");
      const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(lease, 200);
      const [a, b] = lease.body.jobs;
      if (!a || !b) throw new Error(`the lease holds ${lease.body.jobs.length} jobs, not 2`);
      await finishJob(api, lease.body.id, a, "passed");
      await finishJob(api, lease.body.id, b, "failed", { message: "boom" });

      const waiting = qgjob(["rerun", "--run-id", run.id, "--wait"]);
      let second = await api.post(`/api/v1/agents/${agent}/lease`, {});
      while (second.status === 204) second = await api.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(second, 200);
      expect(second.body.jobs.map((j) => j.test_path)).toEqual([b.test_path]);
      await finishJob(api, second.body.id, second.body.jobs[0]!, "passed");
      const out = await waiting;
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`^run ${run.id}  1 test queued again`));

      const again = await qgjob(["rerun", "--run-id", run.id, "--json"]);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ status: "passed", rerun_job_ids: [] });
    },
    SLOW,
  );

  it("refuses a malformed run id with exit 2 and no request", async () => {
    const out = await qgjob(["rerun", "--run-id", "../etc/passwd"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--run-id/);
  });
});

describe("errors: one line, the right exit code, never the token", () => {
  it(
    "usage and input errors exit 2",
    async () => {
      const outs = await Promise.all([
        qgjob(["submit", ...SEED, "--test", "a.spec.js", "--frobnicate"]),
        qgjob(["submit", "--app-version-id=xyz123", "--test", "a.spec.js"]),
        qgjob(["status", "--job-id", "job_01JD8ZK3V4QH6T2X0M9B5C7R1E"]),
        qgjob([
          "status",
          "--run-id",
          "run_01JD8ZK3V4QH6T2X0M9B5C7R1E",
          "--job-id",
          "job_01JD8ZK3V4QH6T2X0M9B5C7R1E",
        ]),
      ]);
      const messages = [
        /^qgjob submit: unknown option '--frobnicate'/,
        /^qgjob submit: required option '--org-id <id>' not specified/,
        /^qgjob: job job_01JD8ZK3V4QH6T2X0M9B5C7R1E not found \[404 not_found\]$/,
        /^qgjob: give --run-id or --job-id, not both$/,
      ];
      outs.forEach((out, i) => {
        expect(out.code, out.stderr).toBe(2);
        expect(out.stdout).toBe("");
        expect(out.stderr.trim()).toMatch(messages[i]!);
        expect(out.stderr.trim().split("\n")).toHaveLength(1);
        noStack(out);
      });
    },
    SLOW,
  );

  it(
    "an unreachable server exits 3 within seconds with one line",
    async () => {
      const closed = await freePort();
      const outs = await Promise.all([
        qgjob(["submit", ...SEED, "--test", "a.spec.js", "--url", "http://127.0.0.1:9"]),
        qgjob(["status", "--job-id", "job_01JD8ZK3V4QH6T2X0M9B5C7R1E"], {
          env: { QGJOB_URL: `http://127.0.0.1:${closed}` },
        }),
      ]);
      expect(outs[0]!.stderr.trim()).toMatch(
        /^qgjob: cannot reach the server at http:\/\/127\.0\.0\.1:9 \(.+\)$/,
      );
      expect(outs[1]!.stderr.trim()).toBe(
        `qgjob: cannot reach the server at http://127.0.0.1:${closed} (ECONNREFUSED)`,
      );
      for (const out of outs) {
        expect(out.code).toBe(3);
        expect(out.ms).toBeLessThan(8000);
        noStack(out);
      }
    },
    SLOW,
  );

  it(
    "sends the token from --token or QGJOB_TOKEN and never prints it",
    async () => {
      const { token } = await issueToken(
        server.store,
        { orgId: "qualgent", scopes: ["submit", "read"], name: "ci" },
        Date.now(),
      );
      const wrong = `${token}x`;
      const submitted = await qgjob(["submit", ...SEED, "--test", "a.spec.js", "--token", token]);
      expect(submitted.code).toBe(0);
      const [jobId] = ids(submitted.stdout, "job");
      const outs = await Promise.all([
        qgjob(["status", "--job-id", jobId!, "--json"], { env: { QGJOB_TOKEN: token } }),
        qgjob(["status", "--job-id", jobId!, "--token", wrong]),
        qgjob(["status", "--job-id", jobId!]),
        qgjob(["wait", "--job-id", jobId!, "--timeout", "1", "--token", token]),
      ]);
      expect(outs.map((o) => o.code)).toEqual([0, 2, 2, 4]);
      expect(outs[1]!.stderr).toMatch(/invalid API token \[401 unauthorized\]/);
      for (const out of [submitted, ...outs]) {
        expect(out.stdout + out.stderr).not.toContain(token.slice(4, 20));
      }
    },
    SLOW,
  );
});

/** A loopback port with nothing listening on it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
