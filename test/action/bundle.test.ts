/**
 * The committed Action bundle (dist/action/index.js), run as a GitHub runner runs it (INPUT_*
 * variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, the workspace as working directory),
 * against a real server, with a real `qgjob agent` process running shell-script tests through
 * the command runner. The cases with a file and line act as the agent over HTTP instead, since
 * the command runner reports neither. Every case runs on this Node and on Node 24 (action.yml's
 * runs.using).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { QgjobClient } from "../../api/client.js";
import type { Scope } from "../../api/types.js";
import { issueToken } from "../../app/tokens.js";
import {
  client,
  closedPort,
  finishJob,
  registerAgent,
  startTestServer,
  tempDir,
  type Client,
  type TestServer,
} from "../harness.js";
import { killAll, spawnQgjob } from "../processes.js";
import { BUNDLE, killSteps, node24, runStep, startStep, type StepOptions } from "./runner.js";

// Each case runs real processes; under a loaded machine a few seconds can become many.
vi.setConfig({ testTimeout: 60_000 });

let server: TestServer;
let actionToken: string;
let agentToken: string;
let workspace: string;
let api: QgjobClient;
let agentApi: Client;
const runtimes: Record<string, string> = {};

beforeAll(async () => {
  runtimes.current = process.execPath;
  runtimes.node24 = node24();

  server = await startTestServer();
  const now = Date.now();
  const issue = (orgId: string | null, scopes: Scope[], name: string) =>
    issueToken(server.store, { orgId, scopes, name }, now).then((t) => t.token);
  actionToken = await issue("acme", ["submit", "read"], "action");
  agentToken = await issue(null, ["agent"], "agent");
  api = new QgjobClient({ baseUrl: server.url, token: actionToken });
  agentApi = client(server.url, agentToken);

  workspace = tempDir("qgjob-action-ws-");
  const tests = join(workspace, "app/tests");
  mkdirSync(join(tests, "ui"), { recursive: true });
  const files: Record<string, string> = {
    "pass-1.sh": "echo all good\n",
    "pass-2.sh": "echo fine too\n",
    "fail.sh": "echo 'expected 1 to be 2'\nexit 1\n",
    "flaky.sh": '[ "$QGJOB_ATTEMPT" -ge 2 ] && exit 0\necho first try fails\nexit 1\n',
    "ui/login.spec.ts": "// a test the fake agent reports on\n",
    "ui/cart.spec.ts": "// another\n",
  };
  for (const [name, body] of Object.entries(files)) writeFileSync(join(tests, name), body);

  // One real agent for emulator jobs, running the shell tests of the project in app/.
  spawnQgjob([
    ...["agent", "--url", server.url, "--token", agentToken, "--name", "shell-1"],
    ...["--target", "emulator", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", join(workspace, "app"), "--lease-wait", "1s"],
  ]);
}, 300_000);

afterAll(async () => {
  killSteps();
  killAll();
  await server?.close();
});

let runIds = 1000;
/** A new workflow run each time unless told otherwise, so idempotency keys differ. */
function step(node: string, inputs: Record<string, string>, env: Record<string, string> = {}) {
  const opts: StepOptions = {
    node,
    workspace,
    inputs: {
      "server-url": server.url,
      "api-token": actionToken,
      "org-id": "acme",
      "working-directory": "app",
      // A step that never ends would outlive the test: none waits longer than this.
      "timeout-minutes": "1",
      ...inputs,
    },
    env: { GITHUB_RUN_ID: String(++runIds), ...env },
  };
  return opts;
}

const lineOf = (stdout: string, prefix: string) =>
  stdout.split("\n").filter((l) => l.startsWith(prefix));

it("the bundle is the ncc build of action/ and never loads the server's storage", () => {
  const text = readFileSync(BUNDLE, "utf8");
  expect(text).toMatch(/^import /); // ESM
  expect(text).not.toMatch(/better[-_]sqlite3/);
  expect(text).not.toContain("app/store");
  expect(text).not.toContain("drizzle");
  expect(text).not.toContain("fastify");
  expect(JSON.parse(readFileSync(join(BUNDLE, "../package.json"), "utf8"))).toEqual({
    type: "module",
  });
});

describe.each([
  ["this Node", "current"],
  ["Node 24", "node24"],
])("the Action bundle on %s", (_label, runtime) => {
  const node = () => runtimes[runtime]!;

  it("runs on the Node it says", () => {
    const version = execFileSync(node(), ["--version"], { encoding: "utf8" }).trim();
    if (runtime === "node24") expect(version).toMatch(/^v24\./);
    else expect(version).toBe(process.version);
  });

  it("a passing run: exit 0, outputs, summary, JUnit, live lines; the token masked", async () => {
    const res = await runStep(step(node(), { tests: "tests/pass-*.sh" }));
    expect(res.errors).toEqual([]);
    expect(res.code).toBe(0);
    const runId = res.outputs["run-id"]!;
    expect(res.outputs).toEqual({
      "run-id": expect.stringMatching(/^run_/),
      status: "passed",
      passed: "2",
      failed: "0",
      flaky: "0",
      "junit-path": join(workspace, "qgjob-junit.xml"),
    });
    // The token is masked before anything else, and never printed otherwise.
    expect(res.lines[0]).toBe(`::add-mask::${actionToken}`);
    expect(res.stdout.split(actionToken)).toHaveLength(2);
    expect(res.stderr).toBe("");
    expect(res.lines).toContain("qgjob: 2 tests (in app): tests/pass-1.sh, tests/pass-2.sh");
    expect(res.lines.some((l) => /^✓ tests\/pass-1\.sh /.test(l))).toBe(true);
    expect(res.lines.some((l) => /^\[\d\d:\d\d\] 0 queued · 0 running · 2 passed/.test(l))).toBe(
      true,
    );
    expect(res.lines.at(-1)).toMatch(new RegExp(`^qgjob: run ${runId} passed: `));

    expect(res.summary).toContain("<h3>✅ qgjob: passed</h3>");
    expect(res.summary).toContain("<td><code>tests/pass-1.sh</code></td><td>✅ passed</td>");
    const junit = readFileSync(join(workspace, "qgjob-junit.xml"), "utf8");
    expect(junit).toContain(
      '<testsuites name="qgjob" tests="2" failures="0" errors="0" skipped="0"',
    );
    expect(junit).toContain('file="app/tests/pass-2.sh"');

    const run = await api.getRun(runId);
    expect(run).toMatchObject({
      source: "action",
      repo: "qualgent/demo",
      sha: "0123456789abcdef0123456789abcdef01234567",
      ref: "refs/heads/main",
      app_version_ids: ["0123456789abcdef0123456789abcdef01234567"],
    });
    expect(run.jobs.map((j) => j.test_path)).toEqual(["tests/pass-1.sh", "tests/pass-2.sh"]);
  });

  it("a failing run: exit 1, an annotation on the failed test, one line saying which", async () => {
    const res = await runStep(step(node(), { tests: "tests/pass-1.sh\ntests/fail.sh" }));
    expect(res.code).toBe(1);
    const runId = res.outputs["run-id"]!;
    expect(res.outputs).toMatchObject({ status: "failed", passed: "1", failed: "1", flaky: "0" });
    expect(res.errors).toEqual([
      "::error title=tests/fail.sh failed,file=app/tests/fail.sh::exit 1: expected 1 to be 2",
      `::error::qgjob: 1 test of 2 failed in run ${runId}: tests/fail.sh`,
    ]);
    expect(res.lines.some((l) => l.startsWith("✗ tests/fail.sh "))).toBe(true);
    expect(res.summary).toContain("<h3>❌ qgjob: 1 failed</h3>");
    const junit = readFileSync(res.outputs["junit-path"]!, "utf8");
    expect(junit).toContain('<failure message="exit 1: expected 1 to be 2" type="failed">');
  });

  it("a flaky pass passes, unless fail-on-flaky", async () => {
    const flaky = { tests: "tests/flaky.sh", retries: "1" };
    const ok = await runStep(step(node(), flaky));
    expect(ok.code).toBe(0);
    expect(ok.outputs).toMatchObject({ status: "passed", passed: "1", flaky: "1" });
    expect(ok.summary).toContain("⚠️ yes");
    const strict = await runStep(step(node(), { ...flaky, "fail-on-flaky": "true" }));
    expect(strict.code).toBe(1);
    expect(strict.errors).toEqual([
      expect.stringMatching(
        /^::error::qgjob: run run_\w+ passed, but 1 test was flaky and fail-on-flaky is set: tests\/flaky\.sh$/,
      ),
    ]);
  });

  it("failures at the file and line the runner reported: annotations, JUnit, escaped", async () => {
    const device = `fake-${runtime}`;
    const running = startStep(
      step(node(), { tests: "tests/ui/*.spec.ts", target: "device", device, retries: "0" }),
    );
    // Act as the agent: lease the jobs, post a failure with file and line, and a pass.
    const agentId = await registerAgent(agentApi, `fake-agent-${runtime}`, {
      target: "device",
      device,
    });
    let lease: any = null;
    for (let i = 0; i < 40 && !lease; i++) {
      lease = (await agentApi.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 1 })).body;
    }
    expect(lease?.jobs).toHaveLength(2);
    const byPath = Object.fromEntries(lease.jobs.map((j: any) => [j.test_path, j]));
    const message = 'Expected <b> & "c"\n\x1b[31mReceived: 1\x1b[39m, at 100%';
    await finishJob(agentApi, lease.id, byPath["tests/ui/login.spec.ts"], "failed", {
      message,
      file: "tests/ui/login.spec.ts",
      line: 12,
      log_tail: "step 1\nstep 2 <failed>",
    });
    await finishJob(agentApi, lease.id, byPath["tests/ui/cart.spec.ts"], "passed");
    const res = await running.done;

    expect(res.code).toBe(1);
    expect(res.errors[0]).toBe(
      "::error title=tests/ui/login.spec.ts failed,file=app/tests/ui/login.spec.ts,line=12::" +
        'Expected <b> & "c"%0AReceived: 1, at 100%25',
    );
    expect(res.errors).toHaveLength(2);
    expect(res.summary).toContain(
      "Expected &lt;b&gt; &amp; &quot;c&quot;<br><code>app/tests/ui/login.spec.ts:12</code>",
    );
    const junit = readFileSync(res.outputs["junit-path"]!, "utf8");
    expect(junit).toContain(
      '<testcase name="tests/ui/login.spec.ts" classname="qgjob.device.fake-' +
        `${runtime}" file="app/tests/ui/login.spec.ts" line="12" time="1.000">`,
    );
    expect(junit).toContain(
      '<failure message="Expected &lt;b&gt; &amp; &quot;c&quot;" type="failed">Expected &lt;b&gt; &amp; "c"\n' +
        "Received: 1, at 100%\n\nat app/tests/ui/login.spec.ts:12\n\n--- output (last lines) ---\n" +
        "step 1\nstep 2 &lt;failed&gt;</failure>",
    );
    expect(junit).not.toContain("\x1b");
  });

  it("a re-run of the same step does not submit twice; a new attempt does", async () => {
    const env = { GITHUB_RUN_ID: `77${runtime.length}${++runIds}`, GITHUB_RUN_ATTEMPT: "1" };
    const inputs = { tests: "tests/pass-1.sh" };
    const before = (await api.listRuns({ org_id: "acme", limit: 500 })).items.length;
    const first = await runStep(step(node(), inputs, env));
    const again = await runStep(step(node(), inputs, env));
    expect(first.code).toBe(0);
    expect(again.code).toBe(0);
    expect(again.outputs["run-id"]).toBe(first.outputs["run-id"]);
    expect((await api.listRuns({ org_id: "acme", limit: 500 })).items.length).toBe(before + 1);

    const attempt2 = await runStep(step(node(), inputs, { ...env, GITHUB_RUN_ATTEMPT: "2" }));
    expect(attempt2.outputs["run-id"]).not.toBe(first.outputs["run-id"]);
  });

  it("wait: false submits, sets run-id only, and ends", async () => {
    const res = await runStep(step(node(), { tests: "tests/pass-2.sh", wait: "false" }));
    expect(res.code).toBe(0);
    expect(Object.keys(res.outputs)).toEqual(["run-id"]);
    expect(res.summary).toBe("");
    expect((await api.getRun(res.outputs["run-id"]!)).jobs).toHaveLength(1);
  });

  it("timeout-minutes: fails with a clear line and cancels the run", async () => {
    const res = await runStep(
      step(node(), {
        tests: "tests/pass-1.sh",
        target: "device",
        device: "nobody-has-this",
        "timeout-minutes": "0.02",
      }),
    );
    expect(res.code).toBe(1);
    const runId = res.outputs["run-id"]!;
    expect(res.errors).toEqual([
      `::error::qgjob: run ${runId} did not finish within timeout-minutes (0.02); cancelled it on the server (0 queued · 0 running · 0 passed · 0 failed · 0 flaky · 1 cancelled)`,
    ]);
    expect(res.outputs.status).toBe("timed_out");
    expect((await api.getRun(runId)).status).toBe("cancelled");
  });

  it("SIGINT (a cancelled workflow) cancels the run on the server", async () => {
    const running = startStep(
      step(node(), { tests: "tests/pass-1.sh", target: "device", device: "nobody-has-this" }),
    );
    for (let i = 0; i < 200 && !running.stdout().includes("qgjob: waiting for run"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    running.child.kill("SIGINT");
    const res = await running.done;
    expect(res.code).toBe(1);
    const runId = res.outputs["run-id"]!;
    expect(res.lines).toContain(`qgjob: cancelled run ${runId} on the server`);
    expect(res.errors).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error::qgjob: run ${runId} cancelled: the step was stopped \\(SIGINT\\), so the run was cancelled on the server`,
        ),
      ),
    ]);
    expect((await api.getRun(runId)).status).toBe("cancelled");
  });

  it("missing inputs: exit 1 and one line naming them", async () => {
    const res = await runStep({
      node: node(),
      workspace,
      inputs: { "server-url": server.url, "api-token": actionToken, tests: "" },
    });
    expect(res.code).toBe(1);
    expect(res.lines).toEqual([
      `::add-mask::${actionToken}`,
      "::error::qgjob: missing required inputs: org-id (your qgjob organization, e.g. qualgent), tests (test files or globs, one per line)",
    ]);
    expect(res.stderr).toBe("");
  });

  it("a wrong token: one line, and the token is not in it", async () => {
    const res = await runStep(step(node(), { tests: "tests/pass-1.sh", "api-token": "qgj_wrong" }));
    expect(res.code).toBe(1);
    expect(res.errors).toEqual([
      `::error::qgjob: the server at ${server.url} refused the api-token (401 unauthorized: invalid API token); check the secret holding it`,
    ]);
    expect(lineOf(res.stdout, "::add-mask::")).toEqual(["::add-mask::qgj_wrong"]);
    expect(res.stdout.split("qgj_wrong")).toHaveLength(2);
  });

  it("an unreachable server: exit 1 and one clear line", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const res = await runStep(step(node(), { tests: "tests/pass-1.sh", "server-url": url }));
    expect(res.code).toBe(1);
    expect(res.errors).toEqual([
      `::error::qgjob: cannot reach the qgjob server at ${url} (ECONNREFUSED); check server-url and that this runner can reach it`,
    ]);
    expect(res.outputs).toEqual({});
  });
});
