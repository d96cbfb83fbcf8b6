/**
 * Several devices on one host: two `qgjob agent --udid` processes, each with its own Appium 3
 * server (fake driver) on its own port, run the example's device tests of two app versions at
 * the same time; a bad --udid and a port in use are one line at start, exit 2. One device's
 * faults through the real agent: its Appium server killed under a running test, a build whose
 * package cannot be read.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EXAMPLE_DIR,
  exampleCopy,
  freePort,
  installExamples,
  stubAndroid,
  type StubAndroid,
} from "../appwright-env.js";
import type { Job } from "../../api/schemas.js";
import { bodyOf, client, expectStatus, submit } from "../harness.js";
import { killAll, qgjob, spawnQgjob, spawnServer, type Spawned } from "../processes.js";

let url: string;
let android: StubAndroid;
let dir: string;

function agentArgs(
  name: string,
  udid: string,
  port: number,
  project = EXAMPLE_DIR,
  builds = join(EXAMPLE_DIR, "builds"),
) {
  return [
    ...["agent", "--url", url, "--name", name, "--lease-wait", "2s", "--json"],
    ...["--target", "emulator", "--runner", "appwright", "--project", "android-emu"],
    ...["--project-dir", project, "--cache-dir", join(dir, "cache")],
    ...["--build", join(builds, "fake-app-{app_version_id}.apk")],
    ...["--udid", udid, "--appium-platform", "fake", "--appium-port", String(port)],
    ...["--appium-home", EXAMPLE_DIR],
  ];
}

/** The agent's "lease finished" log lines. */
function leases(agent: Spawned): Record<string, unknown>[] {
  return agent
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.msg === "lease finished");
}

beforeAll(async () => {
  installExamples();
  android = stubAndroid();
  dir = mkdtempSync(join(tmpdir(), "qgjob-devices-"));
  for (const udid of ["fake-a", "fake-b"])
    mkdirSync(join(dir, "cache", ".devices", udid), { recursive: true });
  url = (await spawnServer(["--db", join(dir, "qgjob.db")])).url;
}, 600_000);

afterAll(() => {
  killAll();
  android?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("two devices on one host", () => {
  it("two agents, two Appium servers, two versions' device tests at once", async () => {
    const agents = [
      spawnQgjob(agentArgs("dev-a", "fake-a", await freePort()), android.env),
      spawnQgjob(agentArgs("dev-b", "fake-b", await freePort()), android.env),
    ];
    const submit = (version: string) =>
      qgjob([
        ...["submit", "--url", url, "--org-id=qualgent", `--app-version-id=${version}`],
        ...["--test=tests/device/home.spec.ts", "--target=emulator", "--wait", "--timeout=300s"],
      ]);
    const [one, two] = await Promise.all([submit("1.0.0"), submit("2.0.0")]);
    expect(one.code, one.output).toBe(0);
    expect(two.code, two.output).toBe(0);
    // "lease finished" comes right after the last result is posted.
    const deadline = Date.now() + 30_000;
    while (agents.some((a) => leases(a).length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    // Each device took one version: one install there, the file's two tests two sessions.
    for (const finished of agents.map(leases))
      expect(finished).toEqual([expect.objectContaining({ installs: 1, sessions: 2 })]);
    // The server has what each device did, on the attempt, and what each device holds.
    const api = client(url);
    const jobs = bodyOf(await api.get("/api/v1/jobs?org_id=qualgent"));
    expect(jobs.items).toHaveLength(2);
    for (const job of jobs.items) {
      const evidence = bodyOf(await api.get(`/api/v1/jobs/${job.id}/artifacts`));
      expect(evidence.attempts[0]!.device).toMatchObject({
        app_version_id: job.app_version_id,
        installs: 1,
        sessions: 2,
      });
      const agent = bodyOf(await api.get(`/api/v1/agents/${job.agent_id}`));
      expect(agent.installed).toEqual([job.app_version_id]);
    }
    const metrics = bodyOf(await api.get("/metrics"));
    expect(metrics).toContain('qgjob_device_installs_total{target="emulator"} 2');
    expect(metrics).toContain('qgjob_device_sessions_total{target="emulator"} 4');
  }, 400_000);

  it("a --udid no device answers to: one line, exit 2", async () => {
    const res = await qgjob(agentArgs("dev-x", "fake-x", await freePort()), android.env);
    expect(res.code).toBe(2);
    expect(res.output).toMatch(/no device answers to --udid fake-x/);
  }, 60_000);

  it("an Appium port in use: one line, exit 2", async () => {
    const busy: Server = await new Promise((r) => {
      const s = createServer().listen(0, "127.0.0.1", () => r(s));
    });
    const port = (busy.address() as { port: number }).port;
    const res = await qgjob(agentArgs("dev-y", "fake-a", port), android.env);
    busy.close();
    expect(res.code).toBe(2);
    expect(res.output).toMatch(new RegExp(`Appium port ${port} is in use`));
  }, 120_000);
});

/**
 * Submits one test of a version to the device `device` with one attempt (an infrastructure error
 * is not retried elsewhere: the test sees it) and answers its job once it has ended.
 */
async function runOn(device: string, version: string, test: string): Promise<Job> {
  const api = client(url);
  const run = await submit(api, {
    app_version_id: version,
    tests: [test],
    target: "emulator",
    device,
    max_attempts: 1,
  });
  expectStatus(run, 201);
  const id = run.body.jobs[0]!.id;
  const deadline = Date.now() + 300_000;
  for (;;) {
    const job = bodyOf(await api.get(`/api/v1/jobs/${id}`));
    if (["passed", "failed", "error", "timed_out", "cancelled"].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The processes whose command line holds `text`. */
function pids(text: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", text], { encoding: "utf8" }).trim().split("\n").map(Number);
  } catch {
    return [];
  }
}

describe("one device's faults, through the agent", () => {
  let port: number;
  let agent: Spawned;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "qgjob-device-faults-"));
    // A test that holds its session until told to go on (the test below kills Appium meanwhile).
    const project = exampleCopy(join(work, "project"), {
      "tests/device/wait.spec.ts": `import { test } from "appwright";
import { existsSync, writeFileSync } from "node:fs";
test("waits, then taps", async ({ device }) => {
  writeFileSync(${JSON.stringify(join(work, "ready"))}, "");
  while (!existsSync(${JSON.stringify(join(work, "go"))})) await new Promise((r) => setTimeout(r, 50));
  await device.tap({ x: 1, y: 1 });
});
`,
    });
    const builds = join(work, "builds");
    mkdirSync(builds);
    copyFileSync(
      join(EXAMPLE_DIR, "builds", "fake-app-1.0.0.apk"),
      join(builds, "fake-app-1.0.0.apk"),
    );
    writeFileSync(join(builds, "fake-app-nopkg.apk"), "<app><MockButton id='x'/></app>");
    mkdirSync(join(dir, "cache", ".devices", "fake-k"), { recursive: true });
    port = await freePort();
    agent = spawnQgjob(
      [...agentArgs("dev-k", "fake-k", port, project, builds), "--device", "fake-k"],
      android.env,
    );
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("Appium killed mid-test: the test is an infrastructure error, Appium restarts, the next run passes", async () => {
    const appium = `appium/index.js server --address 127.0.0.1 --port ${port} `;
    const killer = (async () => {
      while (!existsSync(join(work, "ready"))) await new Promise((r) => setTimeout(r, 50));
      const [pid] = pids(appium);
      process.kill(-pid!, "SIGKILL"); // its process group, as a crash or an OOM kill would
      while (pids(appium).includes(pid!)) await new Promise((r) => setTimeout(r, 50));
      writeFileSync(join(work, "go"), "");
      return pid;
    })();
    const broken = await runOn("fake-k", "1.0.0", "tests/device/wait.spec.ts");
    const killed = await killer;
    expect(broken).toMatchObject({ status: "error", attempts: 1 });
    expect(broken.result!.message).toMatch(/^the Appium server died during the test/);

    const next = await runOn("fake-k", "1.0.0", "tests/device/home.spec.ts");
    expect(next, agent.output()).toMatchObject({ status: "passed" });
    const [restarted] = pids(appium);
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(killed);
  }, 400_000);

  it("a build whose package name cannot be read: the lease's job is an infrastructure error that says so", async () => {
    const job = await runOn("fake-k", "nopkg", "tests/device/home.spec.ts");
    expect(job).toMatchObject({ status: "error" });
    expect(job.result!.message).toBe(
      `device setup failed: cannot read the package name of ${join(work, "builds", "fake-app-nopkg.apk")}: no <app package="..."> in the fake app`,
    );
    // The agent goes on: its log says why, and the device still runs the next version's tests.
    expect(agent.output()).toMatch(/"reason":"device setup failed: cannot read the package name/);
    expect(await runOn("fake-k", "1.0.0", "tests/device/home.spec.ts")).toMatchObject({
      status: "passed",
    });
  }, 400_000);
});
