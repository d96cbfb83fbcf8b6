/**
 * The GitHub App against a GitHub that enforces its documented limits and failure modes (see
 * fake-github.ts): byte caps, 5xx after a create, primary and secondary rate limits per
 * installation, requests that hang, permanent refusals, a slow contents API, merge queues and
 * re-runs. A real server (SQLite, reporter, delivery worker) with agents over the HTTP API.
 */
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bodyOf,
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  type Client,
  type TestServer,
} from "../harness.js";
import { FakeGithub, postWebhook, testPrivateKey, until } from "./fake-github.js";
import { checkRunPayload, checkSuitePayload, mergeGroupPayload, pushPayload } from "./payloads.js";

const SECRET = "webhook-secret-for-limits";
const OWNER = "acme";
const REPO = "mobile";
const PUBLIC_URL = "https://qgjob.example.com";
const installation = (id: number) => ({ id, node_id: `inst-${id}` });

let github: FakeGithub;
let server: TestServer;
let api: Client;
let delivery = 0;

async function deliver(event: string, payload: unknown, id = `limits-${++delivery}`) {
  return { id, ...(await postWebhook(server.url, event, payload, { id, secret: SECRET })) };
}

async function runsOf(sha: string) {
  const res = await api.get(`/api/v1/runs?org_id=${OWNER}&limit=100`);
  return bodyOf(res).items.filter((r) => r.sha === sha);
}
const theRun = (sha: string) => until("the run", async () => (await runsOf(sha))[0]);
const posts = (sha: string) => github.callsFor(sha).filter((c) => c.method === "POST");
const completedCall = (sha: string) => () =>
  github.callsFor(sha).find((c) => c.body.status === "completed");

/** An agent over the HTTP API: runs every queued job of `target`, with the result `outcome` says. */
async function runAll(
  target: string,
  outcome: (job: { test_path: string }) => {
    status: "passed" | "failed";
    message?: string;
    line?: number;
  },
) {
  const agent = await registerAgent(api, `agent-${target}-${++delivery}`, { target });
  for (;;) {
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    if (lease.status !== 200) return;
    for (const job of lease.body.jobs) {
      const o = outcome(job);
      const r = await finishJob(api, lease.body.id, job, o.status, {
        ...(o.message ? { message: o.message, file: job.test_path, line: o.line ?? 1 } : {}),
      });
      if (r.status !== 200)
        throw new Error(`${job.test_path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  }
}

function repoWith(sha: string, config: string, tests: string[]) {
  github.commit(sha, {
    ".github/qgjob.yml": config,
    ...Object.fromEntries(tests.map((t) => [t, "test()"])),
  });
}

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  github = new FakeGithub();
  server = await startTestServer({
    githubAppId: "1234",
    githubPrivateKey: testPrivateKey(),
    githubWebhookSecret: SECRET,
    publicUrl: PUBLIC_URL,
    githubUpdateIntervalS: 0.2,
    githubRequestTimeoutS: 2,
  });
  api = client(server.url);
});

afterAll(async () => {
  await server?.close();
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("GitHub's byte limits", () => {
  it("creates and completes one check run for 1,000 tests with multi-byte messages", async () => {
    const sha = "a1".repeat(20);
    const tests = Array.from(
      { length: 1000 },
      (_, i) => `e2e/t${String(i).padStart(4, "0")}.spec.ts`,
    );
    repoWith(
      sha,
      "app_version: build-7\ntests: ['e2e/*.spec.ts']\ntargets: [browserstack]\n",
      tests,
    );
    expect((await deliver("push", pushPayload(OWNER, REPO, sha))).status).toBe(202);
    const run = await theRun(sha);
    expect(run.counts.total).toBe(1000);
    await until("the queued check run", () => posts(sha)[0]);

    // A batch of 50 tests fails with a long Japanese message (3 bytes a character), then the rest is cancelled.
    const message = "ログイン画面が表示されませんでした：要素 #login が見つかりません。".repeat(40);
    const agent = await registerAgent(api, "agent-bytes", { target: "browserstack" });
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    expect(lease.body.jobs).toHaveLength(50);
    for (const job of lease.body.jobs) {
      await finishJob(api, lease.body.id, job, "failed", { message, file: job.test_path, line: 7 });
    }
    await api.post(`/api/v1/leases/${lease.body.id}/release`, {});
    expect((await api.post(`/api/v1/runs/${run.id}/cancel`, {})).status).toBe(200);
    const done = await until("completion", completedCall(sha), 30_000);
    await until(
      "all 50 annotations",
      () => github.callsFor(sha).flatMap((c) => c.body.output?.annotations ?? []).length >= 50,
    );
    // One check run; GitHub refused nothing qgjob sent.
    expect(posts(sha)).toHaveLength(1);
    expect(github.attempts.filter((a) => a.sha === sha && a.status >= 400)).toEqual([]);
    expect(done.body.conclusion).toBe("failure");
    expect(done.body.output.title).toBe("50 failed, 950 cancelled");
    expect(Buffer.byteLength(done.body.output.summary)).toBeLessThanOrEqual(65_535);
    expect(Buffer.byteLength(done.body.output.text)).toBeLessThanOrEqual(65_535);
    const dashboard = `<a href="${PUBLIC_URL}/runs/${run.id}">the dashboard</a>.`;
    expect(done.body.output.summary).toMatch(new RegExp(`… \\d+ more tests in ${dashboard}$`));
    expect(done.body.output.text).toMatch(new RegExp(`… \\d+ more failures in ${dashboard}$`));
    expect(done.body.output.text).not.toContain("\uFFFD");
  }, 60_000);
});

describe("creates that may have happened", () => {
  it("leaves one check run when GitHub created it but answered 502", async () => {
    const sha = "b2".repeat(20);
    repoWith(sha, "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [device]\n", ["a.spec.ts"]);
    github.rules.push({
      match: (a) => a.method === "POST" && a.sha === sha,
      times: 1,
      status: 502,
      done: true,
    });
    await deliver("push", pushPayload(OWNER, REPO, sha));
    await theRun(sha);
    await until("the create and an update of it", () =>
      github.callsFor(sha).some((c) => c.method === "PATCH"),
    );
    await runAll("device", () => ({ status: "passed" }));
    const done = await until("completion", completedCall(sha));
    expect(posts(sha)).toHaveLength(1);
    expect(done.checkRunId).toBe(posts(sha)[0]!.checkRunId);
    expect(done.body.conclusion).toBe("success");
  });
});

describe("one installation never stalls another", () => {
  it("waits out one installation's rate limit while another's check run is created", async () => {
    const limited = 1001;
    const other = 1002;
    const resetAt = Date.now() + 20_000;
    github.rules.push({
      match: (a) => a.installationId === limited,
      times: 1000,
      status: 403,
      body: { message: `API rate limit exceeded for installation ID ${limited}.` },
      headers: {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.ceil(resetAt / 1000)),
      },
    });
    const shaA = "c3".repeat(20);
    const shaB = "d4".repeat(20);
    const config = "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [emulator]\n";
    repoWith(shaA, config, ["a.spec.ts"]);
    repoWith(shaB, config, ["a.spec.ts"]);
    await deliver("push", pushPayload(OWNER, REPO, shaA, "refs/heads/main", installation(limited)));
    await until("the limited create", () =>
      github.attempts.find((a) => a.installationId === limited),
    );
    await deliver("push", pushPayload(OWNER, REPO, shaB, "refs/heads/main", installation(other)));
    const created = await until("the other installation's check run", () => posts(shaB)[0]);
    expect(created.installationId).toBe(other);
    expect(created.at).toBeLessThan(resetAt);
    await new Promise((r) => setTimeout(r, 1000));
    // Not tried again before GitHub's reset time.
    expect(github.attempts.filter((a) => a.installationId === limited)).toHaveLength(1);
  });

  it("honours retry-after on a secondary rate limit", async () => {
    const inst = 1003;
    const sha = "e5".repeat(20);
    repoWith(sha, "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [emulator]\n", [
      "a.spec.ts",
    ]);
    github.rules.push({
      match: (a) => a.installationId === inst,
      times: 1,
      status: 403,
      body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes." },
      headers: { "retry-after": "2" },
    });
    await deliver("push", pushPayload(OWNER, REPO, sha, "refs/heads/main", installation(inst)));
    await until("the check run", () => posts(sha)[0]);
    const [refused, next] = github.attempts.filter((a) => a.installationId === inst);
    expect(refused!.status).toBe(403);
    expect(next!.at - refused!.at).toBeGreaterThanOrEqual(2000);
    expect(posts(sha)).toHaveLength(1);
  });

  it("gives up on a hanging create after the request timeout, then finds what it made", async () => {
    const slow = 1004;
    const fast = 1005;
    const shaA = "f6".repeat(20);
    const shaB = "a7".repeat(20);
    const config = "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [emulator]\n";
    repoWith(shaA, config, ["a.spec.ts"]);
    repoWith(shaB, config, ["a.spec.ts"]);
    // GitHub makes the check run but the answer never comes in time.
    github.rules.push({
      match: (a) => a.installationId === slow && a.method === "POST",
      times: 1,
      status: 201,
      done: true,
      delayMs: 30_000,
    });
    await deliver("push", pushPayload(OWNER, REPO, shaA, "refs/heads/main", installation(slow)));
    await until("the hanging create", () => posts(shaA)[0]);
    await deliver("push", pushPayload(OWNER, REPO, shaB, "refs/heads/main", installation(fast)));
    await until("the other installation's check run", () => posts(shaB)[0]);
    // The slow one's create was abandoned after 2 s and adopted: an update, no second create.
    await until("an update of the hanging create", () =>
      github.callsFor(shaA).find((c) => c.method === "PATCH"),
    );
    expect(posts(shaA)).toHaveLength(1);
  });

  it("gives up a check run GitHub refuses for good, and says why on the run page", async () => {
    const sha = "b8".repeat(20);
    repoWith(sha, "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [emulator]\n", [
      "a.spec.ts",
    ]);
    github.rules.push({
      match: (a) => a.sha === sha,
      times: 100,
      status: 422,
      body: { message: "Invalid request. No commit found for SHA." },
    });
    await deliver("push", pushPayload(OWNER, REPO, sha));
    const run = await theRun(sha);
    await until("three refusals", () => github.attempts.filter((a) => a.sha === sha).length >= 3);
    await new Promise((r) => setTimeout(r, 2000));
    expect(github.attempts.filter((a) => a.sha === sha)).toHaveLength(3);
    const page = await fetch(`${server.url}/runs/${run.id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(
      "GitHub refused the check run qgjob (emulator) (422: Invalid request. No commit found for SHA.)",
    );
  });
});

describe("webhooks", () => {
  it("answers before a slow contents API does, and the run still starts", async () => {
    const sha = "c9".repeat(20);
    repoWith(sha, "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [emulator]\n", [
      "a.spec.ts",
    ]);
    github.contentDelayMs = 1500;
    try {
      const res = await deliver("push", pushPayload(OWNER, REPO, sha));
      expect(res.status).toBe(202);
      // Answered with no contents read finished: the work happens after the answer.
      const answeredReads = (github.contentReads.get(sha) ?? 0) - github.pendingContentReads;
      expect(answeredReads).toBe(0);
      await theRun(sha);
    } finally {
      github.contentDelayMs = 0;
    }
  });

  it("spends no API call on a tag push or a merge queue branch's push", async () => {
    const sha = "d0".repeat(20);
    repoWith(sha, "tests: ['a.spec.ts']\n", ["a.spec.ts"]);
    const tokens = github.tokenRequests.length;
    for (const ref of ["refs/tags/v1.2.0", "refs/heads/gh-readonly-queue/main/pr-17-abc"]) {
      const res = await deliver("push", pushPayload(OWNER, REPO, sha, ref));
      expect(res.status).toBe(202);
      expect(res.body.ignored).toBeTruthy();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(github.tokenRequests.length).toBe(tokens);
    expect(github.contentReads.get(sha)).toBeUndefined();
  });
});

describe("merge queues", () => {
  it("runs a merge group and reports on its head sha, filtered by the branch it merges into", async () => {
    const sha = "e1".repeat(20);
    const config =
      "app_version: build-7\ntests: ['a.spec.ts', 'b.spec.ts']\ntargets: [device]\nbranches: [main]\n";
    repoWith(sha, config, ["a.spec.ts", "b.spec.ts"]);
    expect((await deliver("merge_group", mergeGroupPayload(OWNER, REPO, sha, "main"))).status).toBe(
      202,
    );
    const run = await theRun(sha);
    expect(run.ref).toMatch(/^refs\/heads\/gh-readonly-queue\/main\//);
    const created = await until("the check run", () => posts(sha)[0]);
    expect(created.body).toMatchObject({ name: "qgjob (device)", head_sha: sha, status: "queued" });
    await runAll("device", () => ({ status: "passed" }));
    const done = await until("completion", completedCall(sha));
    expect(done.body).toMatchObject({ conclusion: "success" });
    expect(done.body.output.title).toBe("2 passed");

    // A merge group for a branch the config leaves out runs nothing.
    const other = "e2".repeat(20);
    repoWith(other, config, ["a.spec.ts"]);
    await deliver("merge_group", mergeGroupPayload(OWNER, REPO, other, "release"));
    await until("the read of its config", () => github.contentReads.get(other));
    await new Promise((r) => setTimeout(r, 400));
    expect(await runsOf(other)).toEqual([]);
  });
});

describe("re-runs", () => {
  it("re-runs every run of the commit in full on check_suite.rerequested", async () => {
    const sha = "f3".repeat(20);
    const config =
      "app_version: build-7\ntests: ['a.spec.ts', 'b.spec.ts']\ntargets: [browserstack, device]\n";
    repoWith(sha, config, ["a.spec.ts", "b.spec.ts"]);
    await deliver("push", pushPayload(OWNER, REPO, sha));
    await until("two check runs", () => posts(sha).length === 2);
    const outcome = (job: { test_path: string }) =>
      job.test_path === "a.spec.ts"
        ? { status: "failed" as const, message: "no #login" }
        : { status: "passed" as const };
    await runAll("browserstack", outcome);
    await runAll("device", outcome);
    await until(
      "both completed",
      () => github.callsFor(sha).filter((c) => c.body.status === "completed").length === 2,
    );
    const before = github.calls.length;
    expect((await deliver("check_suite", checkSuitePayload(OWNER, REPO, sha))).status).toBe(202);
    const reopened = await until("two new check runs", () => {
      const fresh = github.calls.slice(before).filter((c) => c.method === "POST");
      return fresh.length === 2 && fresh;
    });
    expect(reopened.map((c) => c.body.output.title)).toEqual(["2 queued", "2 queued"]);
    for (const run of await runsOf(sha)) {
      const jobs = bodyOf(await api.get(`/api/v1/runs/${run.id}`)).jobs.filter(
        (j) => j.superseded_by === null,
      );
      expect(jobs.map((j) => j.status)).toEqual(["queued", "queued"]);
    }
  }, 60_000);

  it("a re-run asked for while the completion is still on its way to GitHub opens a new check run", async () => {
    const sha = "f4".repeat(20);
    repoWith(sha, "app_version: build-7\ntests: ['a.spec.ts']\ntargets: [device]\n", ["a.spec.ts"]);
    await deliver("push", pushPayload(OWNER, REPO, sha));
    await until("the check run", () => posts(sha)[0]);
    // GitHub takes the completion at once but answers it late: the re-run lands in between.
    github.rules.push({
      match: (a) => a.method === "PATCH" && a.sha === sha,
      times: 100,
      status: 200,
      body: {},
      done: true,
      delayMs: 1500,
    });
    await runAll("device", () => ({ status: "failed", message: "no #login" }));
    await until("the completion", completedCall(sha));
    const before = github.calls.length;
    await deliver("check_suite", checkSuitePayload(OWNER, REPO, sha));
    const run = (await runsOf(sha))[0]!;
    await until("the re-queued job", async () => {
      const jobs = bodyOf(await api.get(`/api/v1/runs/${run.id}`)).jobs;
      return jobs.some((j) => j.status === "queued");
    });
    const reopened = await until("the new check run", () =>
      github.calls.slice(before).find((c) => c.method === "POST"),
    );
    expect(reopened.body).toMatchObject({ name: "qgjob (device)", status: "queued" });
  }, 60_000);

  it("re-running the config-problem check run reads the config again", async () => {
    const sha = "a4".repeat(20);
    repoWith(
      sha,
      "app_version: { from: file, path: VERSION }\ntests: ['a.spec.ts']\ntargets: [emulator]\n",
      ["a.spec.ts"],
    );
    await deliver("push", pushPayload(OWNER, REPO, sha));
    const problem = await until("the config check run", () => posts(sha)[0]);
    expect(problem.body).toMatchObject({ name: "qgjob", conclusion: "failure" });
    expect(problem.body.output.annotations[0]).toMatchObject({ path: ".github/qgjob.yml" });
    expect(await runsOf(sha)).toEqual([]);

    github.commit(sha, { ...github.files(sha), VERSION: "build-8\n" });
    const res = await deliver(
      "check_run",
      checkRunPayload("rerequested", OWNER, REPO, {
        id: problem.checkRunId,
        name: "qgjob",
        head_sha: sha,
        external_id: problem.body.external_id,
      }),
    );
    expect(res.status).toBe(202);
    const run = await theRun(sha);
    expect(run.app_version_ids).toEqual(["build-8"]);
  });
});
