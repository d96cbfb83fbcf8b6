/**
 * The example workflow (.github/workflows/appwright_test.yml) run end to end the way a runner
 * runs it (workflow.ts): its stub build step, the bundled Action with its inputs as INPUT_*, its
 * file commands and its post step, the upload step's condition. Against a real `qgjob server`,
 * a real `qgjob agent` running the example's AppWright tests with the AppWright runner, and the
 * CLI issuing the tokens: all three, and the Action, on Node 24 (the server on the real
 * Postgres, since better-sqlite3 is built for the Node running the tests).
 *
 * The agent has no checkout and no build of its own: each run brings its test bundle (the
 * example project at the workspace's commit) and its build (the stub the build step writes). Its
 * dependency cache already holds the example's lockfile, as on an agent host that served the
 * project before: installing AppWright with `npm ci` takes minutes (that path is tested in
 * test/e2e/bundles.test.ts). Its Android SDK is a stub (test/appwright-env.ts): the example's
 * tests never open the app, so no emulator is needed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { EXAMPLE_DIR, installExamples, stubAndroid, type StubAndroid } from "../appwright-env.js";
import { tempDir } from "../harness.js";
import { CLI, killAll, listening, spawnProcess, type Spawned } from "../processes.js";
import { createTestSchema, POSTGRES_URL, postgresReachable } from "../store/engines.js";
import { killSteps, node24 } from "./runner.js";
import { runJob, type JobRun } from "./workflow.js";

vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const ROOT = join(import.meta.dirname, "../..");
const WORKFLOW = join(ROOT, ".github/workflows/appwright_test.yml");
const PROJECT = "examples/appwright-demo";

let node: string;
let url: string;
let token: string;
let api: QgjobClient;
let workspace: string;
let android: StubAndroid;
let dropSchema: (() => Promise<void>) | undefined;
let agent: Spawned;
let server: Spawned;

/** The CLI on Node 24, to its end. */
async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const p = spawnProcess(node, [...CLI, ...args], { env: { ...process.env, ...env } });
  const code = await p.exited;
  return { code, output: p.output() };
}

/** git in the workspace, which is the job's checkout. */
const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.com", ...args], {
    cwd: workspace,
    encoding: "utf8",
  }).trim();

beforeAll(async () => {
  installExamples();
  node = node24();
  const unreachable = await postgresReachable();
  if (unreachable !== null) {
    throw new Error(
      `the server runs on Node 24 over Postgres, and ${POSTGRES_URL} is unreachable (${unreachable}); start one or set QGJOB_TEST_POSTGRES_URL`,
    );
  }
  const schema = await createTestSchema();
  dropSchema = schema.drop;
  const db = { DATABASE_URL: schema.url };
  const listen = await listening(
    spawnProcess(node, [...CLI, "server", "--port", "0"], {
      env: {
        ...process.env,
        ...db,
        QGJOB_LOG_LEVEL: "info",
        QGJOB_BLOB_DIR: tempDir("qgjob-example-blobs-"),
      },
    }),
  );
  server = listen;
  url = listen.url;
  const issue = async (args: string[]) => {
    const res = await cli(["token", "create", ...args], db);
    const found = /qgj_[A-Za-z0-9_-]{43}/.exec(res.output)?.[0];
    if (res.code !== 0 || !found) throw new Error(`token create: ${res.code} ${res.output}`);
    return found;
  };
  token = await issue(["--org-id", "qualgent", "--scope", "submit,read", "--name", "github"]);
  const agentToken = await issue(["--fleet", "--scope", "agent", "--name", "emulators"]);
  api = new QgjobClient({ baseUrl: url, token });

  // The job's checkout: the example project, committed.
  workspace = tempDir("qgjob-example-ws-");
  cpSync(EXAMPLE_DIR, join(workspace, PROJECT), {
    recursive: true,
    filter: (src) => !src.includes("node_modules"),
  });
  git("init", "-q");
  git("add", ".");
  git("commit", "-q", "-m", "the example");

  // An agent host that installed the example's dependencies before (see above).
  const cache = tempDir("qgjob-example-agent-cache-");
  const lockfile = createHash("sha256")
    .update(readFileSync(join(EXAMPLE_DIR, "package-lock.json")))
    .digest("hex");
  mkdirSync(join(cache, "deps", lockfile), { recursive: true });
  symlinkSync(join(EXAMPLE_DIR, "node_modules"), join(cache, "deps", lockfile, "node_modules"));
  android = stubAndroid();
  agent = spawnProcess(
    node,
    [
      ...CLI,
      ...["agent", "--url", url, "--token", agentToken, "--name", "emulator-1"],
      ...["--target", "emulator", "--runner", "appwright", "--project", "android-emu"],
      ...["--cache-dir", cache, "--lease-wait", "1s"],
    ],
    // No --project-dir, started in an empty folder: it runs the runs' bundles only.
    { env: { ...process.env, ...android.env }, cwd: tempDir("qgjob-example-agent-") },
  );
});

afterAll(async () => {
  killSteps();
  killAll();
  android?.remove();
  await dropSchema?.();
});

let runs = 0;
/** The job as a push of the workspace's commit triggers it. */
function runWorkflow(secrets: Record<string, string>): Promise<JobRun> {
  const github = {
    GITHUB_SHA: git("rev-parse", "HEAD"),
    GITHUB_REPOSITORY: "qualgent/qgjob",
    GITHUB_REF: "refs/heads/main",
    GITHUB_RUN_ID: `${Date.now()}${++runs}`,
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_JOB: "appwright",
    GITHUB_ACTION: "qgjob",
    GITHUB_EVENT_NAME: "push",
  };
  const job = runJob({ file: WORKFLOW, job: "appwright", workspace, secrets, github, node });
  // The workflow waits up to its timeout-minutes (30): fail sooner, saying what the parts said.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `the job did not end within 200 s\n--- agent:\n${agent.output().slice(-4000)}` +
              `\n--- server:\n${server.output().slice(-4000)}`,
          ),
        ),
      200_000,
    );
  });
  return Promise.race([job, stuck]).finally(() => clearTimeout(timer));
}

const outcomes = (res: JobRun) => Object.fromEntries(res.steps.map((s) => [s.name, s.outcome]));
const logs = (res: JobRun) => res.steps.map((s) => `${s.name}:\n${s.log}`).join("\n");
const qgjobStep = (res: JobRun) => res.steps.find((s) => s.name === "AppWright tests on qgjob")!;

describe("the example workflow, run as a runner runs it", () => {
  it("builds a stub, submits this commit's tests with it, waits, and passes", async () => {
    const sha = git("rev-parse", "HEAD");
    const res = await runWorkflow({ QGJOB_URL: url, QGJOB_TOKEN: token });
    expect(outcomes(res), logs(res)).toEqual({
      "actions/checkout@v6": "success",
      "Skip without a qgjob server": "skipped",
      "Build the app (a stub build)": "success",
      "AppWright tests on qgjob": "success",
      "Upload the JUnit report": "success",
    });
    expect(res.conclusion).toBe("success");
    const build = readFileSync(join(workspace, "build/app-stub.apk"), "utf8");
    expect(build).toBe(`stub build of ${sha}: a placeholder, not an app\n`);

    const step = qgjobStep(res);
    expect(step.outputs).toMatchObject({ status: "passed", passed: "3", failed: "0", flaky: "1" });
    const run = await api.getRun(step.outputs["run-id"]!);
    expect(run).toMatchObject({
      source: "action",
      sha,
      app_version_ids: [sha],
      bundle: { source_sha: sha },
      build: { name: "app-stub.apk", size: Buffer.byteLength(build) },
    });
    expect(run.jobs.map((j) => [j.test_path, j.status, j.flaky])).toEqual([
      ["tests/passing.spec.ts", "passed", false],
      ["tests/welcome.spec.ts", "passed", false],
      ["tests/flaky.spec.ts", "passed", true],
    ]);
    const junit = readFileSync(step.outputs["junit-path"]!, "utf8");
    expect(junit).toContain('file="examples/appwright-demo/tests/welcome.spec.ts"');
    // The post step found the main step finished: nothing to cancel.
    expect(res.posts.map((p) => p.code)).toEqual([0]);
  });

  it("a commit that breaks a test fails the job at that test, and still uploads the report", async () => {
    const welcome = join(workspace, PROJECT, "tests/welcome.spec.ts");
    writeFileSync(welcome, readFileSync(welcome, "utf8").replace("toBe(7)", "toBe(8)"));
    git("commit", "-q", "-am", "welcome: a wrong length");
    const res = await runWorkflow({ QGJOB_URL: url, QGJOB_TOKEN: token });
    expect(res.conclusion, logs(res)).toBe("failure");
    const step = qgjobStep(res);
    expect(step.outcome).toBe("failure");
    expect(step.outputs).toMatchObject({ status: "failed", passed: "2", failed: "1" });
    const errors = step.action!.errors;
    expect(errors[0]).toMatch(
      /^::error title=tests\/welcome\.spec\.ts failed after 2 attempts,file=examples\/appwright-demo\/tests\/welcome\.spec\.ts,line=6::greets: .*Expected: 8%0AReceived: 7/,
    );
    expect(errors.at(-1)).toMatch(
      /^::error::qgjob: 1 test of 3 failed in run run_\w+: tests\/welcome\.spec\.ts$/,
    );
    expect(outcomes(res)["Upload the JUnit report"]).toBe("success");
    expect(existsSync(step.outputs["junit-path"]!)).toBe(true);
    const run = await api.getRun(step.outputs["run-id"]!);
    expect(run.bundle!.source_sha).toBe(git("rev-parse", "HEAD"));
  });

  it("without the secrets: skipped with a notice, and green", async () => {
    const res = await runWorkflow({});
    expect(res.conclusion).toBe("success");
    expect(outcomes(res)).toMatchObject({
      "Skip without a qgjob server": "success",
      "Build the app (a stub build)": "skipped",
      "AppWright tests on qgjob": "skipped",
      "Upload the JUnit report": "skipped",
    });
    expect(res.steps[1]!.log).toBe(
      "::notice::QGJOB_URL / QGJOB_TOKEN are not set; AppWright tests skipped\n",
    );
  });
});
