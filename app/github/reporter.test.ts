/**
 * The reporter against a real SQLite store and GitHub's API in nock, driven tick by tick with a
 * clock of its own: coalescing, restarts (a new reporter on the same database), a create whose id
 * was never saved, and GitHub failing for a while.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import nock from "nock";
import { pino } from "pino";
import { ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeGithub } from "../../test/github/fake-github.js";
import { tempDir } from "../../test/harness.js";
import { loadConfig, storeOptions } from "../config.js";
import { SqliteStore } from "../store/sqlite/engine.js";
import type { GithubCheckRecord, LeaseGrant } from "../store/store.js";
import type { Octokit } from "./repo-reader.js";
import { CheckReporter } from "./reporter.js";

const INTERVAL = 5000;
const T0 = 1_800_000_000_000;
const SHA = "9".repeat(40);

let github: FakeGithub;
let dir: string;
let store: SqliteStore;
let check: GithubCheckRecord;

const octokit = new ProbotOctokit({
  auth: { token: "ghs_test" },
  retry: { enabled: false },
  throttle: { enabled: false },
}) as Octokit;

const reporters: CheckReporter[] = [];
function reporter() {
  const r = new CheckReporter(store, async () => octokit, pino({ level: "silent" }), {
    minIntervalMs: INTERVAL,
    publicUrl: null,
  });
  reporters.push(r);
  return r;
}

async function submit(tests: string[]) {
  const { run } = await store.submitRun(
    {
      org_id: "acme",
      app_version_id: "v1",
      tests,
      target: "emulator",
      priority: 5,
      retries: 0,
      max_attempts: 3,
      timeout_s: 900,
      tags: [],
      source: "github",
    },
    {},
    T0,
  );
  const added = await store.addGithubChecks(
    [
      {
        installationId: 1,
        owner: "acme",
        repo: "mobile",
        sha: SHA,
        name: "qgjob (emulator)",
        target: "emulator",
        runId: run.id,
        orgId: "acme",
        testRoot: "",
      },
    ],
    T0,
  );
  check = added[0]!;
}

/** An agent takes every queued job; `finish` says which to end and how (null: still running). */
async function work(now: number, finish: (path: string) => "passed" | "failed" | null) {
  for (let i = 0; ; i++) {
    const agent = await store.registerAgent(
      { name: `a${now}-${i}`, target: "emulator", device: null, labels: [], installed: [] },
      { orgId: null },
      now,
    );
    const grant = await store.claimLease(agent.id, now);
    if (!grant) return;
    await runLease(grant, now, finish);
  }
}

async function runLease(
  grant: LeaseGrant,
  now: number,
  finish: (path: string) => "passed" | "failed" | null,
) {
  for (const job of grant.jobs) {
    await store.startJob(grant.lease.id, job.id, job.attempts, now);
    const status = finish(job.testPath);
    if (status) {
      await store.reportResult(
        grant.lease.id,
        job.id,
        {
          attempt: job.attempts,
          status,
          duration_ms: 10,
          message: "boom",
          file: job.testPath,
          line: 3,
          artifacts: [],
        },
        now,
      );
    }
  }
}

const sent = () => github.calls.map((c) => `${c.method} ${c.body.status ?? "annotations"}`);

beforeAll(() => {
  nock.disableNetConnect();
  github = new FakeGithub();
});
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});
beforeEach(() => {
  dir = tempDir();
  store = new SqliteStore(join(dir, "qgjob.db"), storeOptions(loadConfig({}, {})));
  github.calls.length = 0;
  github.outage = 0;
  github.okCalls = 0;
});
afterEach(async () => {
  for (const r of reporters.splice(0)) await r.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("CheckReporter", () => {
  it("sends at most one update per check run per interval, with the latest state", async () => {
    await submit(["a.spec.ts", "b.spec.ts"]);
    const r = reporter();
    await r.tick(T0);
    expect(sent()).toEqual(["POST queued"]);

    await work(T0 + 100, (p) => (p === "a.spec.ts" ? "passed" : null));
    await r.tick(T0 + 200);
    await r.tick(T0 + 4900);
    expect(sent()).toEqual(["POST queued"]);

    await r.tick(T0 + INTERVAL);
    expect(sent()).toEqual(["POST queued", "PATCH in_progress"]);
    expect(github.calls[1]!.body.output.title).toBe("1 running, 1 passed");
    // Nothing changed since: nothing more is sent, however often it ticks.
    await r.tick(T0 + 2 * INTERVAL);
    await r.tick(T0 + 3 * INTERVAL);
    expect(sent()).toHaveLength(2);
  });

  it("loads a run again only when the store says it changed", async () => {
    await submit(["a.spec.ts", "b.spec.ts"]);
    let loads = 0;
    const getRun = store.getRun.bind(store);
    store.getRun = (...args) => (loads++, getRun(...args));
    const r = reporter();
    await r.tick(T0);
    for (let i = 1; i <= 5; i++) await r.tick(T0 + i * INTERVAL);
    expect(loads).toBe(1);
    await work(T0 + 6 * INTERVAL, () => "passed");
    await r.tick(T0 + 7 * INTERVAL);
    expect(loads).toBe(2);
    expect(sent()).toEqual(["POST queued", "PATCH completed"]);
  });

  it("after a restart, goes on from what the database says was sent", async () => {
    await submit(Array.from({ length: 75 }, (_, i) => `t${i}.spec.ts`));
    await reporter().tick(T0);
    await work(T0 + 10, () => "failed");
    // The second annotation request fails, then the process "dies".
    github.okCalls = 1;
    github.outage = 1;
    await reporter().tick(T0 + INTERVAL);
    expect(sent()).toEqual(["POST queued", "PATCH completed"]);

    const next = reporter();
    await next.tick(T0 + INTERVAL + 1); // backing off: not yet
    expect(sent()).toHaveLength(2);
    await next.tick(T0 + 10 * INTERVAL);
    expect(sent()).toEqual(["POST queued", "PATCH completed", "PATCH annotations"]);
    expect(github.calls.map((c) => c.body.output?.annotations?.length ?? 0)).toEqual([0, 50, 25]);
    await next.tick(T0 + 20 * INTERVAL);
    expect(sent()).toHaveLength(3);
  });

  it("adopts the check run a create made before its id could be saved", async () => {
    await submit(["a.spec.ts"]);
    await reporter().tick(T0);
    const created = github.calls[0]!.checkRunId;
    await store.updateGithubCheck(check, { checkRunId: null, sentStatus: "creating" });
    await work(T0 + 10, () => "passed");
    await reporter().tick(T0 + INTERVAL);
    expect(sent()).toEqual(["POST queued", "PATCH completed"]);
    expect(github.calls[1]!.checkRunId).toBe(created);
    expect(github.calls[1]!.body.conclusion).toBe("success");
  });
});
