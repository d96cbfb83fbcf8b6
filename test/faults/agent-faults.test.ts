/**
 * Agent faults with real processes: an agent frozen with SIGSTOP past its lease TTL loses its
 * job to another agent; once resumed with SIGCONT it learns the lease is lost, kills its test's
 * process, and its late result is refused (409) without changing the job the other agent finished.
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bodyOf, client, expectStatus, submit, tempDir, type Client } from "../harness.js";
import { killAll, spawnQgjob, spawnServer, type Spawned } from "../processes.js";

const MARKER = `qgjob-faults-${process.pid}`;
const TTL_S = 2;

function pids(marker: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  } catch {
    return [];
  }
}

const alive = (marker: string) => pids(marker).length > 0;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a frozen agent", () => {
  let dir: string;
  let url: string;
  let api: Client;

  let agents: Spawned[] = [];
  /** An agent of its own device, so agents left from another test cannot take this one's job. */
  const agent = (name: string, device: string) => {
    const spawned = spawnQgjob([
      ...["agent", "--url", url, "--name", name, "--target", "device", "--device", device],
      ...["--lease-wait", "1s"],
      ...["--runner", "command", "--command", "sh {test} {attempt}", "--project-dir", dir],
    ]);
    agents.push(spawned);
    return spawned;
  };

  beforeAll(async () => {
    dir = tempDir("qgjob-faults-agent-");
    // First attempts: one runs until it is killed, one fails after 3 s; later attempts pass.
    const script = (first: string) =>
      `if [ "$1" = 1 ]; then exec "${process.execPath}" -e "${first}" ${MARKER}-$(basename "$0"); fi\nexit 0\n`;
    writeFileSync(join(dir, "killed.sh"), script("setTimeout(() => {}, 120000)"));
    writeFileSync(join(dir, "late.sh"), script("setTimeout(() => process.exit(1), 3000)"));
    writeFileSync(join(dir, "crash.sh"), script("setTimeout(() => {}, 120000)"));
    const server = await spawnServer(["--db", join(dir, "qgjob.db")], {
      QGJOB_LEASE_TTL_S: String(TTL_S),
      QGJOB_REAP_INTERVAL_S: "0.3",
    });
    url = server.url;
    api = client(url);
  });
  // Each test gets its own agents; the server lives for the whole file.
  afterEach(() => {
    for (const a of agents) a.child.kill("SIGKILL");
    agents = [];
  });
  const faults = { frozen: 0, killed: 0 };
  afterAll(() => {
    console.log(
      `agent faults: ${faults.frozen} agents frozen past a ${TTL_S} s lease TTL and resumed, ` +
        `${faults.killed} killed mid-test; every job finished on another agent, nothing changed after`,
    );
    killAll();
    // A SIGKILLed agent cannot stop its test: end the orphan this file started.
    for (const pid of pids(`${MARKER}-`)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `test` on an agent frozen past its TTL until another agent has passed it; then resumes it. */
  async function freezeThrough(test: string, resume: "at once" | "after the test ended") {
    const frozen = agent(`frozen-${test}`, test);
    const run = await submit(api, {
      org_id: "acme",
      app_version_id: test,
      target: "device",
      device: test,
      tests: [test],
    });
    expectStatus(run, 201);
    const jobId = run.body.jobs[0]!.id;
    await until("the first attempt runs", () => alive(`${MARKER}-${test}`));

    frozen.child.kill("SIGSTOP");
    agent(`steady-${test}`, test);
    await until("the job passes on the other agent", async () => {
      const job = await api.get(`/api/v1/jobs/${jobId}`);
      return job.status === 200 && job.body.status === "passed";
    });
    const finished = bodyOf(await api.get(`/api/v1/jobs/${jobId}`));
    expect(finished).toMatchObject({ status: "passed", attempts: 2 });
    const firstAttemptRunning = alive(`${MARKER}-${test}`);
    if (resume === "after the test ended") {
      await until("the first attempt ends", () => !alive(`${MARKER}-${test}`));
    }
    frozen.child.kill("SIGCONT");
    faults.frozen++;
    return { frozen, run: run.body, jobId, finished, firstAttemptRunning };
  }

  async function expectUnchanged(f: Awaited<ReturnType<typeof freezeThrough>>) {
    expect((await api.get(`/api/v1/jobs/${f.jobId}`)).body).toEqual(f.finished);
    const counts = bodyOf(await api.get(`/api/v1/runs/${f.run.id}`)).counts;
    expect(counts).toMatchObject({ total: 1, passed: 1, failed: 0, error: 0 });
    // The resumed agent is still alive and serving.
    expect(f.frozen.child.exitCode).toBeNull();
  }

  it("kills its still-running test when, resumed, it learns its lease is lost", async () => {
    const f = await freezeThrough("killed.sh", "at once");
    // Nobody could tell the frozen agent: its test still ran.
    expect(f.firstAttemptRunning).toBe(true);
    await until("the stale test process is killed", () => !alive(`${MARKER}-killed.sh`), 15_000);
    await until("the agent notices", () => f.frozen.output().includes("lease lost"));
    await expectUnchanged(f);
  });

  it("has the result of a test that ended while it was frozen refused, and changes nothing", async () => {
    const f = await freezeThrough("late.sh", "after the test ended");
    // On SIGCONT the overdue heartbeat and the finished test race: either the result goes out
    // first and gets 409, or the agent hears of the lost lease first and does not send it.
    await until("the agent settles the lost lease", () =>
      /result refused|lease lost/.test(f.frozen.output()),
    );
    await until("the lease is finished", () => f.frozen.output().includes("lease finished"));
    const log = f.frozen.output();
    expect(log).not.toMatch(/result posted.*attempt=1/);
    if (log.includes("result refused")) expect(log).toMatch(/result refused.*409/);
    await expectUnchanged(f);
  });

  it("finishes a SIGKILLed agent's job on another agent once the lease expires", async () => {
    const crashing = agent("crashing", "crash.sh");
    const run = bodyOf(
      await submit(api, {
        org_id: "acme",
        app_version_id: "crash.sh",
        target: "device",
        device: "crash.sh",
        tests: ["crash.sh"],
      }),
    );
    await until("the first attempt runs", () => alive(`${MARKER}-crash.sh`));
    crashing.child.kill("SIGKILL");
    faults.killed++;
    agent("after-crash", "crash.sh");
    await until("the job passes on the other agent", async () => {
      const job = bodyOf(await api.get(`/api/v1/runs/${run.id}`)).jobs[0]!;
      return job.status === "passed";
    });
    const job = bodyOf(await api.get(`/api/v1/runs/${run.id}`)).jobs[0];
    expect(job).toMatchObject({ status: "passed", attempts: 2 });
  });
});
