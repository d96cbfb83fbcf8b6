/**
 * `qgjob logs` in process against a real server: a finished job's stored output.log byte for
 * byte, an attempt whose log never arrived, usage errors, and a running job's live output
 * (what the server holds; with --follow, until the job ends).
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/program.js";
import { seedFlakyEvidence, type SeededEvidence } from "../evidence.js";
import { killAll, spawnQgjob } from "../processes.js";
import { expectStatus, registerAgent, serverPerSuite, submit } from "../harness.js";

const suite = serverPerSuite();
let seeded: SeededEvidence;

beforeAll(async () => {
  seeded = await seedFlakyEvidence(suite.server.url, undefined);
});
afterEach(killAll);

async function logs(args: string[]) {
  let stdout = "";
  let stderr = "";
  const { write: out } = process.stdout;
  const { write: err } = process.stderr;
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof out;
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof err;
  try {
    const code = await runCli(["logs", ...args, "--url", suite.server.url]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A job of its own app version, leased and started: its log posts and its result. */
async function runningJob(appVersion: string) {
  await submit(suite.api, { app_version_id: appVersion, tests: ["a.spec.ts"] });
  const agent = await registerAgent(suite.api, appVersion);
  const lease = await suite.api.post(`/api/v1/agents/${agent}/lease`, {});
  expectStatus(lease, 200);
  const job = lease.body.jobs[0]!;
  const at = `/api/v1/leases/${lease.body.id}/jobs/${job.id}`;
  await suite.api.post(`${at}/start`, { attempt: 1 });
  return {
    job,
    post: (seq: number, text: string) =>
      suite.api.post(`${at}/log`, {
        attempt: 1,
        dropped_bytes: 0,
        chunks: [{ seq, data: Buffer.from(text).toString("base64") }],
      }),
    finish: (status: string) =>
      suite.api.post(`${at}/result`, { attempt: 1, status, duration_ms: 5 }),
  };
}

describe("qgjob logs", () => {
  it("prints a finished job's stored log, byte for byte", async () => {
    const res = await logs(["--job-id", seeded.jobId]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(seeded.log.toString());
  });

  it("says so when an attempt's log never arrived, and refuses bad arguments", async () => {
    const first = await logs(["--job-id", seeded.jobId, "--attempt", "1"]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/log of attempt 1 is (pending|missing)/);
    expect((await logs(["--job-id", seeded.jobId, "--attempt", "x"])).code).toBe(2);
    expect((await logs([])).code).toBe(2);
    expect((await logs(["--job-id", "job_01JD8ZK3V4QH6T2X0M9B5C7R1E"])).code).toBe(2);
  });

  it("prints a running job's output so far, and with --follow until the job ends", async () => {
    const { job, post, finish } = await runningJob("logs-cli");
    await post(0, "first\n");
    const sofar = await logs(["--job-id", job.id]);
    expect(sofar).toMatchObject({ code: 0, stdout: "first\n" });

    const following = logs(["--job-id", job.id, "--follow"]);
    await new Promise((r) => setTimeout(r, 300));
    await post(1, "second\n");
    await finish("failed");
    const followed = await following;
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe("first\nsecond\n");
    expect(followed.stderr).toMatch(/job failed \(attempt 1\)/);
  });

  // The stream's 45 s idle timer once kept the process alive that long after the job's end.
  it("with --follow, the command exits once the job ends", async () => {
    const { job, post, finish } = await runningJob("logs-exit");
    await post(0, "running\n");
    const following = spawnQgjob([
      "logs",
      "--url",
      suite.server.url,
      "--job-id",
      job.id,
      "--follow",
    ]);
    // A process start can take seconds on a loaded machine: end the job once it follows.
    for (let i = 0; i < 300 && !following.output().includes("running"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(following.output()).toContain("running");
    await finish("passed");
    const ended = Date.now();
    const code = await Promise.race([
      following.exited,
      new Promise((r) => setTimeout(r, 20_000, "still running 20 s after the job ended")),
    ]);
    expect(code, following.output()).toBe(0);
    expect(following.output()).toMatch(/job passed \(attempt 1\)/);
    expect(Date.now() - ended).toBeLessThan(20_000);
  }, 60_000);
});
