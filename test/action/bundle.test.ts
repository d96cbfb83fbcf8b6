/**
 * The committed Action bundle (dist/action/index.js), run as a GitHub runner runs it (INPUT_*
 * variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, the workspace as working directory),
 * against a real server, with a real `qgjob agent` process running shell-script tests through
 * the command runner from the run's test bundle (the step packs working-directory). The cases with a file and line act as the agent over HTTP instead, since
 * the command runner reports neither. Every case runs on this Node and on Node 24 (action.yml's
 * runs.using).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { QgjobClient } from "../../api/client.js";
import type { Lease } from "../../api/schemas.js";
import type { Scope } from "../../api/types.js";
import { issueToken } from "../../app/tokens.js";
import {
  client,
  closedPort,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  tempDir,
  type Client,
  type TestServer,
} from "../harness.js";
import { killAll, spawnQgjob } from "../processes.js";
import { jenkinsJunitErrors } from "./junit-schema.js";
import { BUNDLE, killSteps, node24, runStep, startStep, type StepOptions } from "./runner.js";

// Each case runs real processes; under a loaded machine a few seconds can become many.
vi.setConfig({ testTimeout: 60_000 });

let server: TestServer;
let actionToken: string;
let agentToken: string;
let workspace: string;
let api: QgjobClient;
let agentApi: Client;
/** The commit checked out in the workspace. */
let checkedOut: string;
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
    ...Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`many/t${String(i).padStart(2, "0")}.spec.ts`, "//\n"]),
    ),
  };
  mkdirSync(join(tests, "many"), { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(tests, name), body);
  writeFileSync(join(tests, "changed.sh"), 'echo "this commit\'s version"\n');
  writeFileSync(
    join(tests, "uses-build.sh"),
    '[ -f "$QGJOB_BUILD_PATH" ] || { echo "no build"; exit 1; }\ncat "$QGJOB_BUILD_PATH"\n',
  );
  // The workspace is a checkout, as actions/checkout leaves it.
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.com", ...args], {
      cwd: workspace,
      encoding: "utf8",
    }).trim();
  git("init", "-q");
  git("add", "app");
  git("commit", "-q", "-m", "tests");
  checkedOut = git("rev-parse", "HEAD");

  // The agent's own checkout of the project is an older commit, where changed.sh still fails:
  // what a run without a bundle gets.
  const own = tempDir("qgjob-agent-checkout-");
  mkdirSync(join(own, "tests"), { recursive: true });
  writeFileSync(join(own, "tests/changed.sh"), 'echo "the agent\'s old copy"\nexit 1\n');

  // One real agent for emulator jobs, running shell tests (the run's bundle, else its own copy).
  spawnQgjob([
    ...["agent", "--url", server.url, "--token", agentToken, "--name", "shell-1"],
    ...["--target", "emulator", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", own, "--cache-dir", tempDir("qgjob-agent-cache-"), "--lease-wait", "1s"],
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

/**
 * Acts as an agent for `device` over HTTP: leases the jobs and posts what `outcome` says for each,
 * until `count` jobs have ended.
 */
async function fakeAgent(
  name: string,
  device: string,
  count: number,
  outcome: (job: { test_path: string }) => ["passed" | "failed" | "error", Record<string, unknown>],
) {
  const agentId = await registerAgent(agentApi, name, { target: "device", device });
  let ended = 0;
  for (let i = 0; i < 200 && ended < count; i++) {
    const lease = await agentApi.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 1 });
    if (lease.status !== 200) continue;
    for (const job of lease.body.jobs) {
      const [status, extra] = outcome(job);
      await finishJob(agentApi, lease.body.id, job, status, extra);
      ended++;
    }
  }
  return ended;
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
    const res = await runStep(
      step(node(), {
        tests: "tests/pass-*.sh",
        tags: "@smoke, @ci",
        "test-timeout": "2m",
        "max-attempts": "2",
      }),
    );
    expect(res.errors).toEqual([]);
    expect(res.code).toBe(0);
    const runId = res.outputs["run-id"]!;
    expect(res.outputs).toEqual({
      "run-id": expect.stringMatching(/^run_/),
      "run-url": `${server.url}/runs/${runId}`,
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
    expect(junit).toContain('<testsuites name="qgjob" tests="2" failures="0" errors="0"');
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
    expect(run.jobs[0]).toMatchObject({ tags: ["@smoke", "@ci"], timeout_s: 120, max_attempts: 2 });
    expect(await jenkinsJunitErrors(junit)).toEqual([]);
  });

  it("sends working-directory as the bundle and app-build as the build: the agent runs this commit's tests on that build", async () => {
    const build = `stub build for ${runtime}\n`;
    writeFileSync(join(workspace, "app-debug.apk"), build);
    const inputs = { tests: "tests/changed.sh\ntests/uses-build.sh", "app-build": "app-debug.apk" };
    const res = await runStep(step(node(), inputs));
    expect(res.errors).toEqual([]);
    expect(res.code).toBe(0);
    const run = await api.getRun(res.outputs["run-id"]!);
    const files = execFileSync("git", ["ls-files", "app"], { cwd: workspace, encoding: "utf8" });
    expect(run.bundle).toMatchObject({
      files: files.trim().split("\n").length,
      source_sha: checkedOut,
    });
    expect(run.build).toMatchObject({ name: "app-debug.apk", size: build.length });
    expect(res.lines).toContain(
      `qgjob: build app-debug.apk (${run.build!.size} bytes, ${run.build!.sha256.slice(0, 12)}) uploaded`,
    );
    expect(
      res.lines.some((l) =>
        l.startsWith(
          `qgjob: test bundle ${run.bundle!.sha256.slice(0, 12)} of ${checkedOut.slice(0, 12)}: ` +
            `${run.bundle!.files} files, ${run.bundle!.size} bytes, packed in `,
        ),
      ),
    ).toBe(true);
    const output = async (path: string) =>
      (await api.getJob(run.jobs.find((j) => j.test_path === path)!.id)).result?.log_tail;
    expect(await output("tests/changed.sh")).toContain("this commit's version");
    expect(await output("tests/uses-build.sh")).toContain(`stub build for ${runtime}`);

    // The same files again (a new workflow run): nothing is sent twice.
    const again = await runStep(step(node(), inputs));
    expect(again.code).toBe(0);
    expect(again.lines).toContain(
      `qgjob: build app-debug.apk (${run.build!.size} bytes, ${run.build!.sha256.slice(0, 12)}) already on the server (nothing sent)`,
    );
    expect(
      again.lines.some(
        (l) => l.endsWith("already on the server (nothing sent)") && l.includes("test bundle"),
      ),
    ).toBe(true);
    expect((await api.getRun(again.outputs["run-id"]!)).bundle!.sha256).toBe(run.bundle!.sha256);
  });

  it("bundle: false runs the agents' own checkout, and says so", async () => {
    const res = await runStep(step(node(), { tests: "tests/changed.sh", bundle: "false" }));
    expect(res.code).toBe(1);
    expect(res.lines).toContain(
      "qgjob: no test bundle (bundle: false): agents run the tests of their own checkout",
    );
    const run = await api.getRun(res.outputs["run-id"]!);
    expect(run.bundle).toBeNull();
    expect((await api.getJob(run.jobs[0]!.id)).result?.log_tail).toContain("the agent's old copy");
  });

  it("a test or app-build not in the checkout: an input error, nothing submitted", async () => {
    const before = (await api.listRuns({ org_id: "acme", limit: 500 })).items.length;
    const res = await runStep(
      step(node(), { tests: "tests/pass-1.sh\ntests/gone.sh", "app-build": "build/none.apk" }),
    );
    expect(res.code).toBe(1);
    expect(res.errors).toEqual([
      "::error::qgjob: app-build: build/none.apk is not a file (build it in an earlier step)",
    ]);
    const gone = await runStep(step(node(), { tests: "tests/pass-1.sh\ntests/gone.sh" }));
    expect(gone.errors).toEqual([
      "::error::qgjob: tests: not in app (the test bundle the agents run): tests/gone.sh",
    ]);
    expect((await api.listRuns({ org_id: "acme", limit: 500 })).items.length).toBe(before);
  });

  it("a failing run: exit 1, an annotation on the failed test, one line saying which", async () => {
    const res = await runStep(
      step(node(), { tests: "tests/pass-1.sh\ntests/fail.sh", "junit-attachments": "true" }),
    );
    expect(res.code).toBe(1);
    const runId = res.outputs["run-id"]!;
    expect(res.outputs).toMatchObject({ status: "failed", passed: "1", failed: "1", flaky: "0" });
    expect(res.errors).toEqual([
      "::error title=tests/fail.sh failed,file=app/tests/fail.sh::exit 1: expected 1 to be 2",
      `::error::qgjob: 1 test of 2 failed in run ${runId}: tests/fail.sh`,
    ]);
    expect(res.lines.some((l) => l.startsWith("✗ tests/fail.sh "))).toBe(true);
    // The failed test's output, in a collapsed group.
    const group = res.lines.indexOf("::group::✗ tests/fail.sh failed");
    expect(group).toBeGreaterThan(0);
    expect(res.lines.slice(group + 1, res.lines.indexOf("::endgroup::"))).toContain(
      "expected 1 to be 2",
    );
    expect(res.summary).toContain("<h3>❌ qgjob: 1 failed</h3>");
    const junit = readFileSync(res.outputs["junit-path"]!, "utf8");
    expect(junit).toContain('<failure message="exit 1: expected 1 to be 2">');
    const failedJob = (await api.getRun(runId)).jobs.find((j) => j.test_path === "tests/fail.sh")!;
    expect(junit).toContain(`url="${server.url}/jobs/${failedJob.id}"`);
    expect(await jenkinsJunitErrors(junit)).toEqual([]);
    // The summary links the failure to its page and full log, signed: no token needed.
    const item = /<li><code>tests\/fail\.sh<\/code>: (.*)<\/li>/.exec(res.summary)?.[1] ?? "";
    const links = Object.fromEntries(
      [...item.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [
        m[2],
        m[1]!.replaceAll("&amp;", "&"),
      ]),
    );
    expect(Object.keys(links)).toEqual(["job page", "output.log"]);
    expect(links["job page"]).toMatch(new RegExp(`^${server.url}/jobs/${failedJob.id}\\?sig=`));
    const log = await vi.waitFor(
      async () => {
        const r = await fetch(links["output.log"]!);
        if (r.status !== 200) throw new Error(`the uploaded log: ${r.status}`);
        return r.text();
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(log).toContain("expected 1 to be 2");
    // The JUnit report links the same evidence, signed (escaped for XML).
    expect(junit).toContain(
      `evidence (signed links):\n  output.log: ${links["output.log"]!.replaceAll("&", "&amp;")}\n`,
    );
    const page = await fetch(links["job page"]!, { redirect: "manual" });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("expected 1 to be 2");
    // junit-attachments: the log downloaded beside the report, named as an attachment.
    const attached = `qgjob-evidence/${failedJob.id}/attempt-1/output.log`;
    expect(junit.split("\n")).toContain(`[[ATTACHMENT|${attached}]]`);
    expect(readFileSync(join(workspace, attached), "utf8")).toBe(log);
  });

  it("a quarantined test's failure passes: exit 0, a warning saying until when, listed in the summary", async () => {
    const q = await api.quarantineTest({
      test_path: "tests/fail.sh",
      reason: "known to fail on the emulator",
      expires_in_s: 14 * 86_400,
    });
    try {
      const res = await runStep(step(node(), { tests: "tests/pass-1.sh\ntests/fail.sh" }));
      expect(res.code).toBe(0);
      expect(res.errors).toEqual([]);
      expect(res.outputs).toMatchObject({ status: "passed", passed: "1", failed: "0" });
      const until = q.expires_at.slice(0, 10);
      expect(res.lines).toContain(
        // GitHub's escaping of ':' in an annotation's properties.
        `::warning title=tests/fail.sh%3A quarantined%3A failed (until ${until}),file=app/tests/fail.sh::exit 1: expected 1 to be 2`,
      );
      expect(res.summary).toContain("<h3>✅ qgjob: passed (1 quarantined)</h3>");
      expect(res.summary).toContain(`🔕 quarantined: failed (until ${until})`);
    } finally {
      await api.unquarantineTest({ test_path: "tests/fail.sh" });
    }
  });

  it("a flaky pass passes, unless fail-on-flaky", async () => {
    const flaky = { tests: "tests/flaky.sh", retries: "1" };
    const ok = await runStep(step(node(), flaky));
    expect(ok.code).toBe(0);
    expect(ok.outputs).toMatchObject({ status: "passed", passed: "1", flaky: "1" });
    expect(ok.summary).toContain("⚠️ yes");
    expect(ok.lines).toContain(
      "::warning title=tests/flaky.sh is flaky,file=app/tests/flaky.sh::tests/flaky.sh failed, then passed on attempt 2",
    );
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
    let lease: Lease | undefined;
    for (let i = 0; i < 40 && !lease; i++) {
      const res = await agentApi.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 1 });
      if (res.status === 204) continue;
      expectStatus(res, 200);
      lease = res.body;
    }
    expect(lease?.jobs).toHaveLength(2);
    const { id: leaseId, jobs } = lease!;
    const byPath = Object.fromEntries(jobs.map((j) => [j.test_path, j]));
    const message = 'Expected <b> & "c"\n\x1b[31mReceived: 1\x1b[39m, at 100%';
    await finishJob(agentApi, leaseId, byPath["tests/ui/login.spec.ts"]!, "failed", {
      message,
      file: "tests/ui/login.spec.ts",
      line: 12,
      log_tail: "step 1\nstep 2 <failed>",
    });
    await finishJob(agentApi, leaseId, byPath["tests/ui/cart.spec.ts"]!, "passed");
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
      '<testcase name="app/tests/ui/login.spec.ts" classname="qgjob.device.fake-' +
        `${runtime}" file="app/tests/ui/login.spec.ts" line="12" time="1.000" url="${server.url}/jobs/`,
    );
    expect(junit).toContain(
      '<failure message="Expected &lt;b&gt; &amp; &quot;c&quot;">Expected &lt;b&gt; &amp; "c"\n' +
        "Received: 1, at 100%\n\nat app/tests/ui/login.spec.ts:12</failure>",
    );
    // The output in the test's system-out (Jenkins' "Standard Output").
    expect(junit).toContain(
      "--- output (last lines) ---\nstep 1\nstep 2 &lt;failed&gt;</system-out>",
    );
    expect(junit).not.toContain("\x1b");
    expect(await jenkinsJunitErrors(junit)).toEqual([]);
  });

  it("10 failed tests and 1 that could not run: 8 annotated, 1 step-level error, the verdict", async () => {
    const device = `many-${runtime}`;
    const running = startStep(
      step(node(), {
        tests: "tests/many/*.spec.ts",
        target: "device",
        device,
        "max-attempts": "1",
      }),
    );
    const ended = await fakeAgent(`many-agent-${runtime}`, device, 11, (job) =>
      job.test_path === "tests/many/t10.spec.ts"
        ? ["error", { message: "build for abc not found in /srv/agent/builds" }]
        : ["failed", { message: `boom ${job.test_path}`, file: job.test_path, line: 1 }],
    );
    expect(ended).toBe(11);
    const res = await running.done;
    expect(res.code).toBe(1);
    // GitHub keeps 10 errors per step: the verdict is always one of them.
    expect(res.errors).toHaveLength(10);
    expect(res.errors.slice(0, 8).every((l) => l.includes(",file=app/tests/many/t0"))).toBe(true);
    expect(res.errors[8]).toBe(
      "::error title=1 test could not run (an infrastructure error%2C not the test)::" +
        "build for abc not found in /srv/agent/builds: tests/many/t10.spec.ts",
    );
    expect(res.errors[9]).toMatch(
      /^::error::qgjob: 11 tests of 11 failed or could not run in run /,
    );
    expect(res.lines).toContain(
      "qgjob: annotated the first 8 of 10 failed tests (GitHub shows 10 errors per step, the verdict included); the job summary lists them all",
    );
  });

  it("credentials in server-url: an input error that prints neither them nor the URL", async () => {
    const url = new URL(server.url);
    url.username = "ci";
    url.password = "s3cr3t-pw";
    const res = await runStep(step(node(), { tests: "tests/pass-1.sh", "server-url": url.href }));
    expect(res.code).toBe(1);
    expect(res.errors).toEqual([
      "::error::qgjob: server-url: contains credentials (user:password@); remove them and pass the token as api-token (the URL is not printed)",
    ]);
    expect(lineOf(res.stdout, "::add-mask::")).toEqual([
      `::add-mask::${actionToken}`,
      "::add-mask::ci",
      "::add-mask::s3cr3t-pw",
    ]);
    expect(res.stdout.split("s3cr3t-pw")).toHaveLength(2);
    expect(res.outputs).toEqual({});
  });

  it("on pull_request: reports on the head commit from the event payload, and says so", async () => {
    const head = "feedface".repeat(5);
    const event = join(tempDir("qgjob-event-"), "event.json");
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7, head: { sha: head } } }));
    const res = await runStep(
      step(
        node(),
        { tests: "tests/pass-1.sh" },
        {
          GITHUB_EVENT_NAME: "pull_request",
          GITHUB_EVENT_PATH: event,
          GITHUB_REF: "refs/pull/7/merge",
        },
      ),
    );
    expect(res.code).toBe(0);
    expect(res.lines).toContain(
      `qgjob: pull_request event: the run reports on the pull request's head commit ${head}, not GITHUB_SHA 0123456789abcdef0123456789abcdef01234567 (the merge commit GitHub checks out)`,
    );
    expect((await api.getRun(res.outputs["run-id"]!)).sha).toBe(head);
  });

  it("a step killed before it finished: its post step cancels the run", async () => {
    const opts = step(node(), { tests: "tests/pass-1.sh", target: "device", device: "nobody" });
    const running = startStep(opts);
    for (let i = 0; i < 400 && !running.stdout().includes("qgjob: waiting for run"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    running.child.kill("SIGKILL");
    const killed = await running.done;
    const runId = killed.outputs["run-id"]!;
    expect(killed.state).toEqual({ started: "true", "run-id": runId });
    expect((await api.getRun(runId)).status).toBe("queued");

    const post = await runStep({ ...opts, state: killed.state });
    expect(post.code).toBe(0);
    expect(post.lines).toContain(`qgjob: cancelled run ${runId} on the server`);
    expect((await api.getRun(runId)).status).toBe("cancelled");

    // A step that finished leaves nothing for its post step to do.
    const done = await runStep(step(node(), { tests: "tests/pass-2.sh", wait: "false" }));
    expect(done.state).toMatchObject({ finished: "true" });
    const idle = await runStep({ ...opts, state: done.state });
    expect(idle.lines.filter((l) => !l.startsWith("::add-mask::"))).toEqual([]);
    expect((await api.getRun(done.outputs["run-id"]!)).status).not.toBe("cancelled");
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

  it("wait: false submits, sets run-id and run-url, and ends; a later step waits with run-id", async () => {
    const res = await runStep(step(node(), { tests: "tests/pass-2.sh", wait: "false" }));
    expect(res.code).toBe(0);
    expect(Object.keys(res.outputs)).toEqual(["run-id", "run-url"]);
    expect(res.summary).toBe("");
    const runId = res.outputs["run-id"]!;
    expect((await api.getRun(runId)).jobs).toHaveLength(1);

    const waited = await runStep(step(node(), { "run-id": runId, "org-id": "" }));
    expect(waited.code).toBe(0);
    expect(waited.outputs).toMatchObject({ "run-id": runId, status: "passed", passed: "1" });
    expect(waited.summary).toContain("<h3>✅ qgjob: passed</h3>");
    expect(
      (await api.listRuns({ org_id: "acme", limit: 500 })).items.filter((r) => r.id === runId),
    ).toHaveLength(1);
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
      "::error::qgjob: missing required inputs: org-id (your qgjob organization, e.g. qualgent), tests (test files or globs, one per line; or run-id to wait for a run submitted earlier)",
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
