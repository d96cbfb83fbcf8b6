/**
 * The device agent against a real server, running real test processes through the command
 * runner: results, retries, cancel, timeout, drain, build failures and a server restart.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { QgjobClient } from "../api/client.js";
import {
  bodyOf,
  client,
  expectStatus,
  startTestServer,
  tempDir,
  type TestServer,
} from "../test/harness.js";
import { DeviceAgent, type AgentOptions } from "./agent.js";
import { BuildResolver } from "./build.js";
import { httpBlobSink } from "./evidence/http-sink.js";
import { CommandRunner } from "./runners/command.js";

let server: TestServer;
const agents: DeviceAgent[] = [];
const running: Promise<void>[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await Promise.all(running.splice(0));
  await server?.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project of shell "tests": each file is a script the command runner runs with `sh`. */
function project(marker: string) {
  const dir = tempDir("qgjob-agent-");
  dirs.push(dir);
  const files: Record<string, string> = {
    "pass.sh": "echo all good\nexit 0\n",
    "fail.sh": "echo 'expected 1 to be 2'\nexit 1\n",
    // A failure with a multi-line diff on stderr and a screenshot in QGJOB_ARTIFACTS_DIR.
    "diff.sh":
      "echo setting up\nprintf 'png' > \"$QGJOB_ARTIFACTS_DIR/screen.png\"\n" +
      "echo 'AssertionError: values differ' >&2\necho '- expected: 2' >&2\necho '+ received: 1' >&2\n" +
      "echo '    at diff.sh:5' >&2\nexit 1\n",
    // Waits for the test to let it finish (the test stops the server meanwhile).
    "gate.sh": `while [ ! -f '${marker}.go' ]; do sleep 0.05; done\necho gated >&2\nexit 1\n`,
    "flaky.sh": '[ "$QGJOB_ATTEMPT" -ge 2 ] && exit 0\necho first try fails\nexit 1\n',
    // A child whose command line carries the marker, so the test can see it live and die.
    "slow.sh": `"${process.execPath}" -e "setTimeout(() => {}, 30000)" ${marker}\n`,
  };
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

function startAgent(over: Partial<AgentOptions> & { dir: string; build?: string | null }) {
  const agent = new DeviceAgent({
    client: new QgjobClient({ baseUrl: server.url, retries: 1, backoffMs: 50 }),
    name: over.name ?? "agent-1",
    target: "emulator",
    device: null,
    labels: [],
    installed: [],
    runner: new CommandRunner({ template: "sh {test}", cwd: over.dir }),
    builds: new BuildResolver({ template: over.build ?? null, cacheDir: join(over.dir, ".cache") }),
    logger: pino({ level: process.env.AGENT_LOG ?? "silent" }),
    leaseWaitS: 1,
    drainGraceMs: 200,
    blobs: httpBlobSink({ baseUrl: server.url }),
    spoolDir: null,
    ...over,
  });
  agents.push(agent);
  running.push(agent.run());
  return agent;
}

const api = () => client(server.url);

async function submitRun(body: Record<string, unknown>) {
  const res = await api().post("/api/v1/runs", { org_id: "acme", app_version_id: "v1", ...body });
  expectStatus(res, 201);
  return res.body;
}

async function waitRun(id: string) {
  return bodyOf(await api().get(`/api/v1/runs/${id}/wait?timeout_s=20`));
}

/** The job view: its result whole (a run's view summarises each job's result). */
async function jobOf(id: string) {
  return bodyOf(await api().get(`/api/v1/jobs/${id}`));
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (marker: string) => {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim() !== "";
  } catch {
    return false; // pgrep exits 1 when nothing matches
  }
};

describe("device agent", () => {
  it("runs a lease and posts each result with its output", async () => {
    server = await startTestServer();
    startAgent({ dir: project("m0") });
    const run = await submitRun({ tests: ["pass.sh", "fail.sh"] });
    const done = await waitRun(run.id);
    expect(done.status).toBe("failed");
    const byPath = Object.fromEntries(done.jobs.map((j) => [j.test_path, j]));
    expect(byPath["pass.sh"]).toMatchObject({ status: "passed", attempts: 1 });
    expect(byPath["fail.sh"]).toMatchObject({ status: "failed" });
    const failed = await jobOf(byPath["fail.sh"]!.id);
    expect(failed.result?.message).toContain("expected 1 to be 2");
    expect(failed.result?.log_tail).toContain("expected 1 to be 2");
  });

  it("posts a failure's whole stderr diff, its full log and the files of QGJOB_ARTIFACTS_DIR", async () => {
    server = await startTestServer();
    startAgent({ dir: project("m-diff") });
    const run = await submitRun({ tests: ["diff.sh"] });
    const job = await jobOf((await waitRun(run.id)).jobs[0]!.id);
    expect(job.status).toBe("failed");
    expect(job.result?.message).toBe(
      "exit 1: at diff.sh:5\n\nAssertionError: values differ\n- expected: 2\n+ received: 1\n    at diff.sh:5",
    );
    expect(job.result?.artifacts).toEqual([
      expect.objectContaining({ name: "output.log", kind: "log", sha256: expect.any(String) }),
      expect.objectContaining({ name: "screen.png", kind: "screenshot", size: 3 }),
    ]);
  });

  it("keeps a result in its spool while the server is away; the restarted agent posts it", async () => {
    server = await startTestServer({ leaseTtlS: 120 });
    const port = Number(new URL(server.url).port);
    const marker = join(tempDir("qgjob-gate-"), "gate");
    const dir = project(marker);
    const spoolDir = join(dir, "spool");
    const first = startAgent({ dir, spoolDir });
    const run = await submitRun({ tests: ["gate.sh"], max_attempts: 1 });
    await until(
      async () => bodyOf(await api().get(`/api/v1/runs/${run.id}`)),
      (r) => r.jobs[0]!.status === "running",
    );
    await server.stop();
    writeFileSync(`${marker}.go`, ""); // the test ends with the server away
    await until(
      () => Promise.resolve(readdirSync(join(spoolDir, "results")).length),
      (n) => n === 1,
    );
    await first.stop(); // gives up posting after the drain grace: the result stays spooled
    await Promise.all(running.splice(0));
    expect(readdirSync(join(spoolDir, "results"))).toHaveLength(1);

    server = await startTestServer({ port, leaseTtlS: 120 }, server.dir);
    startAgent({ dir, spoolDir });
    const done = await waitRun(run.id);
    expect(done.jobs[0]).toMatchObject({ status: "failed", attempts: 1 });
    expect(done.jobs[0]!.result?.message).toMatch(/gated/);
    const left = () => Promise.resolve(readdirSync(join(spoolDir, "results")).length);
    expect(await until(left, (n) => n === 0)).toBe(0); // removed once acknowledged
  }, 30_000); // the first agent gives up posting 10 s after its drain grace

  it("refuses a leased test path that leaves the project, even if the server hands one out", async () => {
    server = await startTestServer();
    const root = tempDir("qgjob-agent-escape-");
    dirs.push(root);
    const work = join(root, "project");
    mkdirSync(work);
    writeFileSync(join(work, "pass.sh"), "exit 0\n");
    writeFileSync(join(root, "outside.sh"), `touch '${join(root, "ran")}'\n`);
    const run = await submitRun({ tests: ["pass.sh", "escape.sh"] });
    // Only a tampered database (or a rogue server) could hand out such a path.
    const db = new Database(server.db);
    db.prepare("UPDATE jobs SET test_path = '../outside.sh' WHERE test_path = 'escape.sh'").run();
    db.close();

    startAgent({ dir: work });
    const done = await waitRun(run.id);
    const byPath = Object.fromEntries(done.jobs.map((j) => [j.test_path, j]));
    expect(byPath["pass.sh"]).toMatchObject({ status: "passed" });
    expect(byPath["../outside.sh"]).toMatchObject({ status: "failed" });
    expect(byPath["../outside.sh"]!.result?.message).toMatch(/refused to run/);
    expect(existsSync(join(root, "ran"))).toBe(false);
  });

  it("reruns a failed test on the same device when retries allow, and the pass is flaky", async () => {
    server = await startTestServer();
    startAgent({ dir: project("m1") });
    const run = await submitRun({ tests: ["flaky.sh"], retries: 1 });
    const done = await waitRun(run.id);
    expect(done.jobs[0]).toMatchObject({ status: "passed", flaky: true, attempts: 2 });
  });

  it("kills the test's process group when the job is cancelled, then takes the next lease", async () => {
    server = await startTestServer({ leaseTtlS: 0.6 });
    const marker = `qgjob-cancel-${process.pid}-${Date.now()}`;
    startAgent({ dir: project(marker) });
    const run = await submitRun({ tests: ["slow.sh"] });
    await until(() => Promise.resolve(alive(marker)), Boolean);
    expect(alive(marker)).toBe(true);
    await api().post(`/api/v1/runs/${run.id}/cancel`);
    expect(
      await until(
        () => Promise.resolve(alive(marker)),
        (a) => !a,
        5000,
      ),
    ).toBe(false);
    const next = await submitRun({ app_version_id: "v2", tests: ["pass.sh"] });
    expect((await waitRun(next.id)).status).toBe("passed");
    expect(bodyOf(await api().get(`/api/v1/runs/${run.id}`)).status).toBe("cancelled");
  });

  it("ends a test that outlives its timeout as timed_out", async () => {
    server = await startTestServer();
    const marker = `qgjob-timeout-${process.pid}-${Date.now()}`;
    startAgent({ dir: project(marker) });
    const run = await submitRun({ tests: ["slow.sh"], timeout_s: 1 });
    const done = await waitRun(run.id);
    expect(done.jobs[0]).toMatchObject({ status: "timed_out" });
    expect(alive(marker)).toBe(false);
  });

  it("drains on stop: the running test is killed after the grace period and the rest is released", async () => {
    server = await startTestServer();
    const marker = `qgjob-drain-${process.pid}-${Date.now()}`;
    const agent = startAgent({ dir: project(marker) });
    const run = await submitRun({ tests: ["slow.sh", "pass.sh"], timeout_s: 60 });
    await until(() => Promise.resolve(alive(marker)), Boolean);
    await agent.stop();
    await Promise.all(running.splice(0));
    expect(alive(marker)).toBe(false);
    const after = bodyOf(await api().get(`/api/v1/runs/${run.id}`));
    // Both are back in the queue; only the interrupted one spent an attempt.
    const byPath = Object.fromEntries(after.jobs.map((j) => [j.test_path, j]));
    expect(byPath["slow.sh"]).toMatchObject({ status: "queued", attempts: 1 });
    expect(byPath["pass.sh"]).toMatchObject({ status: "queued", attempts: 0 });
  });

  it("reports a missing build as an infrastructure error, so the jobs go to another device", async () => {
    server = await startTestServer();
    const dir = project("m5");
    startAgent({ dir, build: join(dir, "builds/{app_version_id}.apk") });
    const run = await submitRun({ tests: ["pass.sh"], max_attempts: 1 });
    const done = await waitRun(run.id);
    expect(done.jobs[0]!.status).toBe("error");
    expect(done.jobs[0]!.result?.message).toMatch(/build for v1 not found/);
  });

  it("passes the prepared build to the test and prepares it once per lease", async () => {
    server = await startTestServer();
    const dir = project("m6");
    writeFileSync(join(dir, "v7.apk"), "fake build");
    writeFileSync(join(dir, "uses-build.sh"), '[ -f "$QGJOB_BUILD_PATH" ] || exit 1\n');
    const builds = new BuildResolver({
      template: join(dir, "{app_version_id}.apk"),
      cacheDir: dir,
    });
    startAgent({ dir, builds });
    const run = await submitRun({ app_version_id: "v7", tests: ["uses-build.sh", "pass.sh"] });
    expect((await waitRun(run.id)).status).toBe("passed");
    expect(builds.prepared).toBe(1);
  });

  it("keeps working across a server restart", async () => {
    server = await startTestServer();
    const port = new URL(server.url).port;
    startAgent({ dir: project("m7") });
    await until(
      async () => bodyOf(await api().get("/api/v1/agents")),
      (r) => r.items.length === 1,
    );
    await server.stop();
    await new Promise((r) => setTimeout(r, 500)); // the agent's polls fail meanwhile
    server = await startTestServer({ port: Number(port) }, server.dir);
    const run = await submitRun({ tests: ["pass.sh"] });
    expect((await waitRun(run.id)).status).toBe("passed");
  });
});
