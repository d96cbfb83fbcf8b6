/**
 * The GitHub App end to end: signed webhooks on the real route of a real server (real SQLite,
 * scheduler and reporter), a real `qgjob agent` process running shell tests, and GitHub's API
 * played by nock. Each case asserts the exact check-run calls qgjob made.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  bodyOf,
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  tempDir,
  type Client,
  type TestServer,
} from "../harness.js";
import { packBundle, removePacked } from "../../api/bundle.js";
import { killAll, spawnQgjob } from "../processes.js";
import {
  FakeGithub,
  postWebhook,
  signature,
  testPrivateKey,
  until,
  type CheckCall,
} from "./fake-github.js";
import { checkRunPayload, INSTALLATION, pushPayload, workflowDispatchPayload } from "./payloads.js";
import { gzTar } from "../tarballs.js";

const SECRET = "webhook-secret-for-tests";
const OWNER = "acme";
const REPO = "mobile";
const PUBLIC_URL = "https://qgjob.example.com";

let github: FakeGithub;
let server: TestServer;
let api: Client;
let scripts: string;
let delivery = 0;

const key = testPrivateKey();
const githubConfig = {
  githubAppId: "1234",
  githubPrivateKey: key,
  githubWebhookSecret: SECRET,
  publicUrl: PUBLIC_URL,
  githubUpdateIntervalS: 0.2,
};

async function deliver(
  event: string,
  payload: unknown,
  opts: { id?: string; sign?: string | null; raw?: string } = {},
) {
  const id = opts.id ?? `delivery-${++delivery}`;
  return {
    id,
    ...(await postWebhook(server.url, event, payload, { ...opts, id, secret: SECRET })),
  };
}

const statuses = (calls: CheckCall[]) =>
  calls
    .filter((c) => c.body.status)
    .map((c) => `${c.method} ${c.body.status}${c.body.conclusion ? `:${c.body.conclusion}` : ""}`);

const completed = (sha: string) => () =>
  github.callsFor(sha).find((c) => c.body.status === "completed");

/** The run a delivery made: it is processed after the answer. */
const theRun = (sha: string) => until("the run", async () => (await runsOf(sha))[0]);

async function runsOf(sha: string) {
  const res = await api.get(`/api/v1/runs?org_id=${OWNER}`);
  return bodyOf(res).items.filter((r) => r.sha === sha);
}

const CONFIG = `
# qgjob for the mobile app
app_version: { from: sha }
tests:
  - tests/*.sh
targets: [device]
`;

function shellRepo(sha: string, config = CONFIG) {
  github.commit(sha, {
    ".github/qgjob.yml": config,
    // Slow enough that the check run is seen in_progress whatever the machine's load.
    "tests/pass.sh": "sleep 0.5; exit 0\n",
    "tests/fail.sh": "echo 'expected onboarding screen'; exit 1\n",
    "README.md": "# mobile\n",
  });
}

function startShellAgent(name: string) {
  return spawnQgjob([
    "agent",
    ...["--url", server.url, "--name", name, "--lease-wait", "1s"],
    ...["--target", "device", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", scripts],
  ]);
}

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  github = new FakeGithub();
  // The agents' own checkout holds no tests: they run what each commit's bundle holds.
  scripts = mkdtempSync(join(tmpdir(), "qgjob-github-"));
  server = await startTestServer(githubConfig);
  api = client(server.url);
});

afterEach(() => killAll());

afterAll(async () => {
  await server?.close();
  nock.cleanAll();
  nock.enableNetConnect();
  rmSync(scripts, { recursive: true, force: true });
});

describe("push -> run -> check runs", () => {
  const sha = "a".repeat(40);

  it("opens a queued check run, moves it to in_progress, completes it with annotations", async () => {
    shellRepo(sha);
    const res = await deliver("push", pushPayload(OWNER, REPO, sha));
    expect(res.status).toBe(202);

    const run = await theRun(sha);
    expect(run).toMatchObject({
      org_id: OWNER,
      source: "github",
      repo: `${OWNER}/${REPO}`,
      ref: "refs/heads/main",
    });
    expect(run.app_version_ids).toEqual([sha]);
    // Counted like an API submission: the App submits through the same service.
    expect((await api.get("/metrics")).body).toContain("qgjob_jobs_submitted_total 2");

    const created = await until("the check run", () => github.callsFor(sha)[0]);
    expect(created.method).toBe("POST");
    expect(created.repo).toBe(`${OWNER}/${REPO}`);
    expect(created.body).toMatchObject({
      name: "qgjob (device)",
      head_sha: sha,
      status: "queued",
      external_id: run.id,
      details_url: `${PUBLIC_URL}/runs/${run.id}`,
    });
    expect(created.body.output.title).toContain("2 queued");

    startShellAgent("gh-agent-1");
    const done = await until("completion", completed(sha));
    const calls = github.callsFor(sha);
    expect(statuses(calls).join(", ")).toMatch(
      /^POST queued(, PATCH in_progress)+, PATCH completed:failure$/,
    );
    expect(calls.every((c) => c.checkRunId === created.checkRunId)).toBe(true);
    expect(done.body.output.title).toBe("1 failed, 1 passed");
    expect(done.body.output.summary).toContain("<code>tests/fail.sh</code>");
    expect(done.body.output.text).toContain("expected onboarding screen");
    // The failure links to its evidence on the dashboard, signed: its page and its full log.
    const failedJob = bodyOf(await api.get(`/api/v1/runs/${run.id}`)).jobs.find(
      (j) => j.test_path === "tests/fail.sh",
    );
    const evidence = /^Evidence: (.*)$/m.exec(done.body.output.text)?.[1] ?? "";
    const links = Object.fromEntries(
      [...evidence.matchAll(/\[([^\]]+)\]\(([^)]+)\)/g)].map((m) => [m[1], m[2]!]),
    );
    expect(Object.keys(links)).toEqual(["job page", "output.log"]);
    expect(links["job page"]).toMatch(
      new RegExp(`^${PUBLIC_URL}/jobs/${failedJob!.id}\\?sig=\\d+\\.[\\w-]+$`),
    );
    const local = (url: string) => url.replace(PUBLIC_URL, server.url);
    const log = await until("the uploaded log", async () => {
      const res = await fetch(local(links["output.log"]!));
      return res.status === 200 ? res.text() : undefined;
    });
    expect(log).toContain("expected onboarding screen");
    const page = await fetch(local(links["job page"]!));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("tests/fail.sh");
    expect(done.body.output.annotations).toEqual([
      expect.objectContaining({
        path: "tests/fail.sh",
        start_line: 1,
        end_line: 1,
        annotation_level: "failure",
        title: "tests/fail.sh failed",
      }),
    ]);
    expect(done.body.actions).toEqual([expect.objectContaining({ identifier: "rerun_failed" })]);
    // The job times, not the times of sending.
    const jobs = bodyOf(await api.get(`/api/v1/runs/${run.id}`)).jobs;
    expect(done.body.started_at).toBe(jobs.map((j) => j.started_at).sort()[0]);
    expect(done.body.completed_at).toBe(
      jobs
        .map((j) => j.finished_at)
        .sort()
        .pop(),
    );
  });

  it("re-runs the target in full on check_run.rerequested, in a new check run of the same name", async () => {
    // The previous test's agent is gone, but its last long poll (1 s) could still claim work.
    await new Promise((r) => setTimeout(r, 1200));
    const run = (await runsOf(sha))[0]!;
    const first = github.callsFor(sha)[0]!;
    const before = github.calls.length;
    const res = await deliver(
      "check_run",
      checkRunPayload("rerequested", OWNER, REPO, {
        id: first.checkRunId,
        name: "qgjob (device)",
        head_sha: sha,
        external_id: run.id,
      }),
    );
    expect(res.status).toBe(202);
    const reopened = await until("the new check run", () =>
      github.calls.slice(before).find((c) => c.method === "POST"),
    );
    // Both tests again, counted like the API's re-runs.
    expect((await api.get("/metrics")).body).toContain("qgjob_jobs_submitted_total 4");
    expect(reopened.body).toMatchObject({
      name: "qgjob (device)",
      head_sha: sha,
      status: "queued",
      external_id: run.id,
    });
    expect(reopened.body.output.title).toBe("2 queued");
    expect(reopened.checkRunId).not.toBe(first.checkRunId);
    const after = bodyOf(await api.get(`/api/v1/runs/${run.id}`));
    for (const path of ["tests/fail.sh", "tests/pass.sh"]) {
      expect(after.jobs.find((j) => j.test_path === path)).toMatchObject({
        status: "queued",
        rerun_of: expect.any(String),
      });
    }

    startShellAgent("gh-agent-2");
    const done = await until("the re-run's completion", () =>
      github.calls
        .slice(before)
        .find((c) => c.checkRunId === reopened.checkRunId && c.body.status === "completed"),
    );
    expect(done.body.conclusion).toBe("failure");
    expect(done.body.output.title).toBe("1 failed, 1 passed");
    expect(bodyOf(await api.get(`/api/v1/runs/${run.id}`)).counts.total).toBe(2);
  });

  it("creates nothing new for a redelivered push", async () => {
    const firstDelivery = "push-redelivered";
    const sha2 = "b".repeat(40);
    shellRepo(sha2);
    expect(
      (await deliver("push", pushPayload(OWNER, REPO, sha2), { id: firstDelivery })).status,
    ).toBe(202);
    await until("the check run", () => github.callsFor(sha2)[0]);
    await new Promise((r) => setTimeout(r, 300));
    const calls = github.calls.length;
    expect(
      (await deliver("push", pushPayload(OWNER, REPO, sha2), { id: firstDelivery })).status,
    ).toBe(202);
    await new Promise((r) => setTimeout(r, 600));
    expect(await runsOf(sha2)).toHaveLength(1);
    expect(github.calls.length).toBe(calls);
  });
});

describe("the commit's own tests: the run's bundle is its tarball", () => {
  const PROJECT_CONFIG = "app_version: v1\nroot: e2e\ntests: ['tests/*.sh']\ntargets: [device]\n";

  it("runs each commit's tests: a changed assertion fails, an added test runs", async () => {
    const [shaA, shaB] = ["ab".repeat(20), "cd".repeat(20)];
    const atA = {
      ".github/qgjob.yml": PROJECT_CONFIG,
      "README.md": "# mobile\n",
      "android/Main.kt": "fun main() {}\n",
      "e2e/tests/login.sh": "test $((1 + 1)) = 2\n",
      "e2e/.qgjobignore": "notes.txt\n",
      "e2e/notes.txt": "not for the agents\n",
    };
    github.commit(shaA, atA);
    github.commit(shaB, {
      ...atA,
      "e2e/tests/login.sh": 'test $((1 + 2)) = 2 || { echo "expected 2, got 3"; exit 1; }\n',
      "e2e/tests/signup.sh": "echo signing up\n",
    });
    await deliver("push", pushPayload(OWNER, REPO, shaA, "refs/heads/feature-a"));
    await deliver("push", pushPayload(OWNER, REPO, shaB, "refs/heads/feature-b"));
    const [runA, runB] = [await theRun(shaA), await theRun(shaB)];
    const viewA = bodyOf(await api.get(`/api/v1/runs/${runA.id}`));
    // The e2e folder only, with the project's .qgjobignore applied.
    expect(viewA.bundle).toMatchObject({ files: 2, source_sha: shaA });
    expect(github.archiveReads.get(shaA)).toBe(1);

    // The same hash `qgjob submit` packs from a checkout of that folder.
    const checkout = tempDir();
    for (const [path, text] of Object.entries(atA).filter(([p]) => p.startsWith("e2e/"))) {
      mkdirSync(join(checkout, path, ".."), { recursive: true });
      writeFileSync(join(checkout, path), text, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
    }
    const packed = await packBundle(join(checkout, "e2e"));
    await removePacked(packed);
    expect(viewA.bundle?.sha256).toBe(packed.sha256);

    startShellAgent("bundle-agent");
    await until("both check runs", () => completed(shaA)() && completed(shaB)(), 60_000);
    const outcomes = async (id: string) =>
      Object.fromEntries(
        bodyOf(await api.get(`/api/v1/runs/${id}`)).jobs.map((j) => [j.test_path, j.status]),
      );
    expect(await outcomes(runA.id)).toEqual({ "tests/login.sh": "passed" });
    expect(await outcomes(runB.id)).toEqual({
      "tests/login.sh": "failed",
      "tests/signup.sh": "passed",
    });
    expect(completed(shaB)()).toMatchObject({ body: { conclusion: "failure" } });
    expect((completed(shaB)() as CheckCall).body.output.text).toContain("expected 2, got 3");
  });

  it("reports a project that links outside its folder as a config problem; nothing queued", async () => {
    const sha = "ef".repeat(20);
    github.commit(sha, { ".github/qgjob.yml": PROJECT_CONFIG, "e2e/tests/a.sh": "exit 0\n" });
    const prefix = `${OWNER}-${REPO}-${sha.slice(0, 7)}`;
    github.archives.set(
      sha,
      await gzTar([
        { name: `${prefix}/`, type: "directory" },
        { name: `${prefix}/e2e/tests/a.sh`, body: "exit 0\n" },
        { name: `${prefix}/e2e/secrets`, type: "symlink", linkname: "../../../etc" },
      ]),
    );
    await deliver("push", pushPayload(OWNER, REPO, sha));
    const problem = await until("the config check run", () => github.callsFor(sha)[0]);
    expect(problem.body).toMatchObject({ name: "qgjob", conclusion: "failure" });
    expect(problem.body.output.summary).toContain(
      "root: the test project (e2e) cannot be sent to the agents: secrets links to ../../../etc",
    );
    expect(await runsOf(sha)).toEqual([]);
  });

  it("with bundle: false sends none: the agents run their own checkout", async () => {
    const sha = "0f".repeat(20);
    github.commit(sha, {
      ".github/qgjob.yml": `${PROJECT_CONFIG}bundle: false\n`,
      "e2e/tests/a.sh": "exit 0\n",
    });
    await deliver("push", pushPayload(OWNER, REPO, sha));
    const run = await theRun(sha);
    expect(bodyOf(await api.get(`/api/v1/runs/${run.id}`)).bundle).toBeNull();
    expect(github.archiveReads.get(sha)).toBeUndefined();
  });
});

describe("a push supersedes its branch's earlier run", () => {
  const config = (extra = "") =>
    `app_version: v1\ntests: ['tests/*.sh']\ntargets: [device]\n${extra}`;

  it("cancels the earlier push's unfinished jobs; its check run says which run took over", async () => {
    const [older, newer] = ["5a".repeat(20), "5b".repeat(20)];
    github.commit(older, { ".github/qgjob.yml": config(), "tests/slow.sh": "sleep 60\n" });
    github.commit(newer, { ".github/qgjob.yml": config(), "tests/slow.sh": "exit 0\n" });
    await deliver("push", pushPayload(OWNER, REPO, older, "refs/heads/release"));
    const olderRun = await theRun(older);
    startShellAgent("supersede-agent");
    await until("the older test running", async () => {
      const run = bodyOf(await api.get(`/api/v1/runs/${olderRun.id}`));
      return run.counts.running === 1;
    });
    await deliver("push", pushPayload(OWNER, REPO, newer, "refs/heads/release"));
    const newerRun = await theRun(newer);
    const ended = await until("the older check run completed", completed(older));
    expect(ended.body.conclusion).toBe("cancelled");
    expect(ended.body.output.summary).toContain(
      `superseded by run <code>${newerRun.id}</code> (a later push)`,
    );
    expect((await api.get(`/api/v1/runs/${olderRun.id}`)).body).toMatchObject({
      status: "cancelled",
      superseded_by: newerRun.id,
    });
    const done = await until("the newer check run completed", completed(newer), 60_000);
    expect(done.body.conclusion).toBe("success");
  });

  it("leaves the earlier run alone with supersede: false", async () => {
    const [older, newer] = ["6a".repeat(20), "6b".repeat(20)];
    const files = { ".github/qgjob.yml": config("supersede: false\n"), "tests/a.sh": "exit 0\n" };
    github.commit(older, files);
    github.commit(newer, files);
    await deliver("push", pushPayload(OWNER, REPO, older, "refs/heads/hotfix"));
    const olderRun = await theRun(older);
    await deliver("push", pushPayload(OWNER, REPO, newer, "refs/heads/hotfix"));
    const newerRun = await theRun(newer);
    expect((await api.get(`/api/v1/runs/${olderRun.id}`)).body).toMatchObject({
      status: "queued",
      superseded_by: null,
    });
    // Queued device work would go to the next test's agent.
    for (const run of [olderRun, newerRun]) await api.post(`/api/v1/runs/${run.id}/cancel`, {});
  });
});

describe("a delivery GitHub could not serve", () => {
  it("is answered 202 and tried again later; a delivery refused for good is given up until redelivered", async () => {
    const sha = "6".repeat(40);
    shellRepo(sha);
    github.forbidden.add(sha);
    const first = await deliver("push", pushPayload(OWNER, REPO, sha), { id: "flaky-1" });
    expect(first.status).toBe(202);
    // The first try is refused; before the next one the installation is given access.
    await until("a refused read", () => (github.contentReads.get(sha) ?? 0) >= 1);
    github.forbidden.delete(sha);
    await theRun(sha);
    await until("the check run", () => github.callsFor(sha)[0]);

    // Refused every time: given up after a few tries, and armed again by GitHub's "Redeliver".
    const sha2 = "7".repeat(40);
    shellRepo(sha2);
    github.forbidden.add(sha2);
    expect((await deliver("push", pushPayload(OWNER, REPO, sha2), { id: "flaky-2" })).status).toBe(
      202,
    );
    await until("three refused reads", () => (github.contentReads.get(sha2) ?? 0) >= 3);
    await new Promise((r) => setTimeout(r, 1500));
    expect(github.contentReads.get(sha2)).toBe(3);
    expect(await runsOf(sha2)).toEqual([]);
    github.forbidden.delete(sha2);
    expect((await deliver("push", pushPayload(OWNER, REPO, sha2), { id: "flaky-2" })).status).toBe(
      202,
    );
    await theRun(sha2);
  });
});

describe("workflow_dispatch", () => {
  it("runs the commit the ref points at, with the inputs' app version and tests", async () => {
    const sha = "2".repeat(40);
    shellRepo(sha);
    github.commit(sha, { ...github.files(sha) }, "refs/heads/release");
    const res = await deliver(
      "workflow_dispatch",
      workflowDispatchPayload(OWNER, REPO, "refs/heads/release", {
        app_version: "build-99",
        tests: "tests/pass.sh",
      }),
    );
    expect(res.status).toBe(202);
    const run = await theRun(sha);
    expect(run).toMatchObject({ app_version_ids: ["build-99"], ref: "refs/heads/release" });
    expect(run.counts.total).toBe(1);
    const created = await until("the check run", () => github.callsFor(sha)[0]);
    expect(created.body).toMatchObject({ name: "qgjob (device)", status: "queued" });
    // Queued device work would go to a later test's agent.
    await api.post(`/api/v1/runs/${run.id}/cancel`, {});
  });
});

describe("signatures", () => {
  const sha = "c".repeat(40);

  it("refuses a bad signature with 401 and queues nothing", async () => {
    shellRepo(sha);
    const res = await deliver("push", pushPayload(OWNER, REPO, sha), {
      sign: signature("wrong", "x"),
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({
      code: "unauthorized",
      message: expect.stringContaining("X-Hub-Signature-256"),
    });
    expect(await runsOf(sha)).toEqual([]);
  });

  it("refuses an empty body or a malformed signature with 401", async () => {
    for (const [raw, sign] of [
      ["", "sha256=00"],
      ["{}", "sha1=abc"],
      ["{}", "sha256=" + "z".repeat(64)],
    ] as const) {
      const res = await deliver("push", null, { raw, sign });
      expect(res.status, `${JSON.stringify(raw)} ${sign}`).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
  });

  it("refuses a signed body that is not JSON with 400", async () => {
    const res = await deliver("push", null, { raw: "payload=%7B%7D" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_json");
  });

  it("keeps the webhook route out of the OpenAPI document", async () => {
    const doc = await api.get("/api/v1/openapi.json");
    expectStatus(doc, 200);
    expect(Object.keys(doc.body.paths)).not.toContain("/api/github/webhooks");
  });

  it("refuses a missing signature with 401 and queues nothing", async () => {
    const res = await deliver("push", pushPayload(OWNER, REPO, sha), { sign: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
    await new Promise((r) => setTimeout(r, 300));
    expect(await runsOf(sha)).toEqual([]);
    expect(github.callsFor(sha)).toEqual([]);
  });
});

describe("config problems", () => {
  it("reports an invalid .github/qgjob.yml as a failed check run, and queues nothing", async () => {
    const sha = "d".repeat(40);
    github.commit(sha, {
      ".github/qgjob.yml": "tests:\n  - tests/*.sh\ntargets:\n  - phone\npriority: 11\n",
      "tests/pass.sh": "exit 0\n",
    });
    expect((await deliver("push", pushPayload(OWNER, REPO, sha))).status).toBe(202);
    await until("the config check run", () => github.callsFor(sha)[0]);
    await new Promise((r) => setTimeout(r, 300));
    const [call, ...more] = github.callsFor(sha);
    expect(more).toEqual([]);
    expect(call!.body).toMatchObject({
      name: "qgjob",
      head_sha: sha,
      status: "completed",
      conclusion: "failure",
    });
    expect(call!.body.output.title).toBe(".github/qgjob.yml: 2 problems");
    expect(call!.body.output.summary).toContain(
      ".github/qgjob.yml: targets.0: one of emulator, device, browserstack",
    );
    expect(call!.body.output.summary).toContain("(line 4)");
    expect(call!.body.output.annotations).toContainEqual(
      expect.objectContaining({ path: ".github/qgjob.yml", start_line: 4 }),
    );
    expect(call!.body.output.summary).toContain("priority:");
    expect(await runsOf(sha)).toEqual([]);
  });

  it("refuses a config naming another org", async () => {
    const sha = "e".repeat(40);
    shellRepo(sha, `org: globex\n${CONFIG}`);
    await deliver("push", pushPayload(OWNER, REPO, sha));
    const call = await until("the config check run", () => github.callsFor(sha)[0]);
    expect(call.body.conclusion).toBe("failure");
    expect(call.body.output.summary).toContain("submits only into the org acme, not globex");
    expect(await runsOf(sha)).toEqual([]);
  });

  it("ignores a push without .github/qgjob.yml", async () => {
    const sha = "f".repeat(40);
    github.commit(sha, { "README.md": "# no qgjob here\n" });
    expect((await deliver("push", pushPayload(OWNER, REPO, sha))).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(github.callsFor(sha)).toEqual([]);
    expect(await runsOf(sha)).toEqual([]);
  });
});

describe("many failures", () => {
  it("sends 120 annotations over 3 requests, 50 at most each", async () => {
    const sha = "1".repeat(40);
    const files: Record<string, string> = {
      ".github/qgjob.yml": "app_version: build-7\nroot: app\ntests: ['e2e/**/*.spec.ts']\n",
    };
    for (let i = 0; i < 120; i++)
      files[`app/e2e/t${String(i).padStart(3, "0")}.spec.ts`] = "test()";
    github.commit(sha, files);
    await deliver("push", pushPayload(OWNER, REPO, sha));
    const run = await theRun(sha);
    expect(run.counts.total).toBe(120);
    await until("the queued check run", () => github.callsFor(sha)[0]);

    // An agent over the HTTP API, failing every test at a line of its own.
    const agent = await registerAgent(api, "http-agent", { target: "emulator" });
    for (;;) {
      const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
      if (lease.status !== 200 || !lease.body) break;
      for (const job of lease.body.jobs) {
        const path = `/api/v1/leases/${lease.body.id}/jobs/${job.id}`;
        await api.post(`${path}/start`, { attempt: job.attempt });
        const n = Number(/t(\d+)/.exec(job.test_path)![1]);
        await api.post(`${path}/result`, {
          attempt: job.attempt,
          status: "failed",
          duration_ms: 1500,
          message: `Error: expected element #login to be visible (${n})`,
          file: job.test_path,
          line: n + 1,
        });
      }
    }
    await until("all annotations", () => {
      const sent = github.callsFor(sha).flatMap((c) => c.body.output?.annotations ?? []);
      return sent.length >= 120;
    });
    const calls = github.callsFor(sha);
    const completing = calls.findIndex((c) => c.body.status === "completed");
    const withAnnotations = calls.filter((c) => c.body.output?.annotations);
    expect(withAnnotations.map((c) => c.body.output.annotations.length)).toEqual([50, 50, 20]);
    expect(withAnnotations[0]).toBe(calls[completing]);
    expect(calls[completing]!.body.conclusion).toBe("failure");
    const all = withAnnotations.flatMap((c) => c.body.output.annotations);
    expect(new Set(all.map((a: any) => a.path)).size).toBe(120);
    expect(all.find((a: any) => a.path === "app/e2e/t007.spec.ts")).toMatchObject({
      start_line: 8,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(github.callsFor(sha)).toHaveLength(calls.length);

    // The "Re-run failed" button queues all 120 again under a new check run.
    const before = github.calls.length;
    const res = await deliver(
      "check_run",
      checkRunPayload(
        "requested_action",
        OWNER,
        REPO,
        { id: calls[0]!.checkRunId, name: "qgjob (emulator)", head_sha: sha, external_id: run.id },
        "rerun_failed",
      ),
    );
    expect(res.status).toBe(202);
    const reopened = await until("the new check run", () =>
      github.calls.slice(before).find((c) => c.method === "POST"),
    );
    expect(reopened.body).toMatchObject({ name: "qgjob (emulator)", status: "queued" });
    expect(reopened.body.output.title).toBe("120 queued");
    const after = bodyOf(await api.get(`/api/v1/runs/${run.id}`));
    expect(after.counts).toMatchObject({ total: 120, queued: 120, failed: 0 });
  });
});

describe("a server restart", () => {
  it("neither loses nor repeats check-run updates", async () => {
    const sha = "3".repeat(40);
    shellRepo(sha);
    const dir = tempDir();
    const own = await startTestServer(githubConfig, dir);
    const res = await postWebhook(own.url, "push", pushPayload(OWNER, REPO, sha), {
      id: "restart-1",
      secret: SECRET,
    });
    expect(res.status).toBe(202);
    await until("the check run", () => github.callsFor(sha)[0]);
    await own.stop();

    const again = await startTestServer(githubConfig, dir);
    try {
      const http = client(again.url);
      const agent = await registerAgent(http, "after-restart", { target: "device" });
      const lease = await http.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(lease, 200);
      for (const job of lease.body.jobs) {
        await finishJob(
          http,
          lease.body.id,
          job,
          job.test_path === "tests/fail.sh" ? "failed" : "passed",
        );
      }
      await until("completion", completed(sha));
      await new Promise((r) => setTimeout(r, 500));
      // One check run, created before the restart and completed after it.
      expect(statuses(github.callsFor(sha)).join(", ")).toMatch(
        /^POST queued(, PATCH in_progress)*, PATCH completed:failure$/,
      );
    } finally {
      await again.close();
    }
  });
});

describe("a quarantined test", () => {
  it("fails no check run: success, listed as quarantined with a notice and when it ends", async () => {
    const sha = "5".repeat(40);
    shellRepo(sha);
    const q = await api.post("/api/v1/quarantines", {
      org_id: OWNER,
      test_path: "tests/fail.sh",
      reason: "onboarding screen race",
      expires_in_s: 7 * 86_400,
    });
    expectStatus(q, 201);
    try {
      expect((await deliver("push", pushPayload(OWNER, REPO, sha))).status).toBe(202);
      await theRun(sha);
      const agent = await registerAgent(api, "quarantine-agent", { target: "device" });
      const lease = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 5 });
      expectStatus(lease, 200);
      for (const job of lease.body.jobs) {
        const fails = job.test_path === "tests/fail.sh";
        await finishJob(api, lease.body.id, job, fails ? "failed" : "passed", {
          ...(fails ? { message: "expected onboarding screen" } : {}),
        });
      }
      const done = await until("completion", completed(sha));
      const until_ = q.body.expires_at!.slice(0, 10);
      expect(done.body.conclusion).toBe("success");
      expect(done.body.output.title).toBe("1 quarantined, 1 passed");
      expect(done.body.output.summary).toContain(`🔕 quarantined: failed (until ${until_})`);
      expect(done.body.output.text).toContain(
        `### tests/fail.sh: quarantined: failed (until ${until_})`,
      );
      expect(done.body.output.annotations).toEqual([
        expect.objectContaining({
          path: "tests/fail.sh",
          annotation_level: "notice",
          title: `tests/fail.sh: quarantined: failed (until ${until_})`,
        }),
      ]);
    } finally {
      await api.post("/api/v1/quarantines/end", { org_id: OWNER, test_path: "tests/fail.sh" });
    }
  });
});

describe("GitHub Enterprise (GHE_HOST)", () => {
  it("talks to the GHE API root", async () => {
    const ghe = new FakeGithub("https://ghe.example.com", "/api/v3");
    const sha = "4".repeat(40);
    ghe.commit(sha, { ".github/qgjob.yml": CONFIG, "tests/pass.sh": "exit 0\n" });
    const own = await startTestServer({ ...githubConfig, gheHost: "ghe.example.com" });
    try {
      const res = await postWebhook(own.url, "push", pushPayload(OWNER, REPO, sha), {
        id: "ghe-1",
        secret: SECRET,
      });
      expect(res.status).toBe(202);
      const created = await until("the check run", () => ghe.callsFor(sha)[0]);
      expect(created.body).toMatchObject({ name: "qgjob (device)", status: "queued" });
      expect(ghe.tokenRequests).toEqual([INSTALLATION.id]);
      expect(github.callsFor(sha)).toEqual([]);
    } finally {
      await own.close();
    }
  });
});
