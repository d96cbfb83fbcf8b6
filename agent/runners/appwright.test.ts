/**
 * The AppWright runner against the real example project (examples/appwright-demo): real
 * `playwright test` invocations of a real AppWright config, with a stub Android SDK (an
 * `emulator` that lists one AVD) and an empty .apk so AppWright's emulator global setup
 * passes. No test opens a device.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AppwrightRunner, exactFileFilter, planInvocations } from "./appwright.js";
import type { RunContext, RunnerJob, TestOutcome } from "./runner.js";
import {
  exampleCopy,
  installExamples,
  SKIPPED_SPEC,
  stubAndroid,
  type StubAndroid,
} from "../../test/appwright-env.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const demo = path.join(root, "examples", "appwright-demo");
let work: string;
let sdkEnv: NodeJS.ProcessEnv;
let apk: string;

let android: StubAndroid;

beforeAll(() => {
  installExamples();
  android = stubAndroid();
  work = android.dir;
  apk = android.apk;
  sdkEnv = android.env;
}, 300_000);

afterAll(() => android?.remove());

const job = (name: string, over: Partial<RunnerJob> = {}): RunnerJob => ({
  id: name,
  testPath: `tests/${name}.spec.ts`,
  attempt: 1,
  timeoutS: 60,
  ...over,
});

interface Recorded {
  ctx: RunContext;
  files: Map<string, string>;
  events: { type: "start" | "outcome"; jobId: string; at: number }[];
  outcomes: Map<string, TestOutcome>;
  controllers: Map<string, AbortController>;
}

function record(opts: { buildPath?: string | null; onStart?: (id: string) => void } = {}) {
  const rec: Recorded = {
    files: new Map(),
    events: [],
    outcomes: new Map(),
    controllers: new Map(),
    ctx: {
      build: {
        appVersionId: "av-1",
        buildPath: opts.buildPath === undefined ? apk : opts.buildPath,
        install: false,
      },
      onStart: async (jobId) => {
        rec.events.push({ type: "start", jobId, at: Date.now() });
        opts.onStart?.(jobId);
      },
      onOutcome: async (outcome) => {
        expect(rec.outcomes.has(outcome.jobId), `second outcome for ${outcome.jobId}`).toBe(false);
        rec.events.push({ type: "outcome", jobId: outcome.jobId, at: Date.now() });
        rec.outcomes.set(outcome.jobId, outcome);
        // The runner removes its folder after the run: read the evidence while it is there.
        for (const file of [outcome.logFile, ...outcome.artifacts.map((a) => a.path)]) {
          if (file) rec.files.set(file, readFileSync(file, "utf8"));
        }
      },
      stopped: (jobId) => {
        let c = rec.controllers.get(jobId);
        if (!c) rec.controllers.set(jobId, (c = new AbortController()));
        return c.signal;
      },
    },
  };
  return rec;
}

function runner(env: NodeJS.ProcessEnv = {}, projectDir = demo) {
  const lines: string[] = [];
  const r = new AppwrightRunner({
    projectDir,
    project: "android-emu",
    env: { ...sdkEnv, ...env },
    onLine: (l) => lines.push(l),
  });
  /** How many Playwright invocations ran (the list reporter's header). */
  const invocations = () =>
    lines.filter((l) => /^Running \d+ tests? using 1 worker/.test(l)).length;
  return { r, lines, invocations };
}

/** Every process whose environment holds the marker (Linux /proc). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(marker)) pids.push(+entry);
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/** Every outcome came after its job's onStart, once. */
function expectStartedFirst(rec: Recorded) {
  for (const id of rec.outcomes.keys()) {
    const starts = rec.events.filter((e) => e.type === "start" && e.jobId === id);
    expect(starts, `onStart of ${id}`).toHaveLength(1);
    const outcome = rec.events.find((e) => e.type === "outcome" && e.jobId === id)!;
    expect(rec.events.indexOf(starts[0]!)).toBeLessThan(rec.events.indexOf(outcome));
  }
}

describe("AppwrightRunner on the example project", () => {
  test("one invocation for a batch; each job's outcome as soon as its file is done", async () => {
    const project = exampleCopy(path.join(work, "with-skipped"), {
      "tests/skipped.spec.ts": `from:${SKIPPED_SPEC}`,
    });
    const { r, invocations } = runner({ QGJOB_SLOW_MS: "3000" }, project);
    const rec = record();
    const jobs = [
      job("slow"),
      job("failing"),
      job("mixed"),
      job("passing"),
      job("skipped"),
      job("welcome"),
      job("nothere"),
    ];
    await r.run(jobs, rec.ctx);
    const finished = Date.now();

    expect(invocations()).toBe(1);
    const o = (id: string) => rec.outcomes.get(id)!;
    expect(o("failing")).toMatchObject({
      status: "failed",
      file: "tests/failing.spec.ts",
      line: 6,
      message: expect.stringMatching(/^compares strings: Error: expect\(received\)\.toBe/),
    });
    expect(o("mixed")).toMatchObject({ status: "failed", file: "tests/mixed.spec.ts", line: 13 });
    expect(o("mixed").artifacts).toEqual([
      expect.objectContaining({ name: "notes", content_type: "text/plain" }),
    ]);
    expect(rec.files.get(o("mixed").artifacts[0]!.path)).toBe("what the test saw\n");
    // Each job's own log: its tests' titles and its failure, not the other files' output.
    const failingLog = rec.files.get(o("failing").logFile!)!;
    expect(failingLog).toContain("=== compares strings");
    expect(failingLog).toContain('Expected: \u001b[32m"goodbye"'); // colours kept for the dashboard
    expect(failingLog).not.toContain("mixed.spec.ts");
    // The invocation's folder is gone once every outcome was taken.
    expect(existsSync(path.dirname(o("mixed").artifacts[0]!.path))).toBe(false);
    expect(o("passing")).toMatchObject({ status: "passed" });
    expect(o("skipped")).toMatchObject({
      status: "passed",
      message: "skipped: not on this device",
    });
    expect(o("welcome")).toMatchObject({ status: "passed" });
    expect(o("slow")).toMatchObject({ status: "passed" });
    expect(o("slow").durationMs).toBeGreaterThanOrEqual(3000);
    expect(o("nothere")).toMatchObject({
      status: "error",
      message: expect.stringMatching(/^no test ran for tests\/nothere\.spec\.ts/),
    });
    expect(rec.outcomes.size).toBe(jobs.length);
    expectStartedFirst(rec);
    // Streamed: failing.spec.ts ran first (Playwright orders files by path), slow.spec.ts
    // then took 3 s, so failing's outcome came well before the invocation ended.
    const failingAt = rec.events.find((e) => e.type === "outcome" && e.jobId === "failing")!.at;
    expect(finished - failingAt).toBeGreaterThan(2000);
  }, 60_000);

  test("a flaky test fails on attempt 1 and passes on attempt 2 (two runs)", async () => {
    const { r } = runner();
    const first = record();
    await r.run([job("flaky")], first.ctx);
    expect(first.outcomes.get("flaky")).toMatchObject({
      status: "failed",
      file: "tests/flaky.spec.ts",
      line: 8,
      message: expect.stringContaining("first attempt fails on purpose"),
    });
    const second = record();
    await r.run([job("flaky", { attempt: 2 })], second.ctx);
    expect(second.outcomes.get("flaky")).toMatchObject({ status: "passed" });
  }, 60_000);

  test("jobs of different attempts run in separate invocations", async () => {
    const { r, invocations } = runner();
    const rec = record();
    await r.run([job("flaky", { attempt: 2 }), job("passing")], rec.ctx);
    expect(invocations()).toBe(2);
    expect(rec.outcomes.get("flaky")).toMatchObject({ status: "passed" });
    expect(rec.outcomes.get("passing")).toMatchObject({ status: "passed" });
  }, 60_000);

  test("stopping the running job kills its processes; the rest run in a new invocation", async () => {
    const marker = `qgjob-marker-${randomUUID()}`;
    const { r, invocations } = runner({ QGJOB_SLOW_MS: "60000", QGJOB_TEST_MARKER: marker });
    let sawProcesses = 0;
    const rec = record({
      onStart: (id) => {
        if (id !== "slow") return;
        setTimeout(() => {
          sawProcesses = processesWith(marker).length;
          rec.controllers.get("slow")!.abort();
        }, 500);
      },
    });
    const started = Date.now();
    await r.run([job("slow"), job("welcome"), job("passing")], rec.ctx);
    const took = Date.now() - started;

    expect(sawProcesses).toBeGreaterThanOrEqual(2); // the runner and its worker
    expect(processesWith(marker)).toEqual([]);
    expect(took).toBeLessThan(20_000);
    expect(rec.outcomes.has("slow")).toBe(false);
    expect(rec.outcomes.get("passing")).toMatchObject({ status: "passed" });
    expect(rec.outcomes.get("welcome")).toMatchObject({ status: "passed" });
    // passing.spec.ts ran before slow.spec.ts and was not run again; welcome.spec.ts (after
    // slow.spec.ts) ran in a second invocation.
    expect(invocations()).toBe(2);
    expectStartedFirst(rec);
  }, 60_000);

  test("a job stopped before its file begins is dropped without killing the others", async () => {
    const { r, invocations } = runner({ QGJOB_SLOW_MS: "2000" });
    const rec = record({
      onStart: (id) => {
        if (id === "passing") rec.controllers.get("welcome")!.abort();
      },
    });
    rec.ctx.stopped("welcome");
    await r.run([job("passing"), job("slow"), job("welcome")], rec.ctx);
    expect(invocations()).toBe(1);
    expect([...rec.outcomes.keys()].sort()).toEqual(["passing", "slow"]);
    expect(rec.events.some((e) => e.jobId === "welcome")).toBe(false);
  }, 60_000);

  test("a file past its job's timeout is timed_out; the rest of the batch still runs", async () => {
    const { r, invocations } = runner({ QGJOB_SLOW_MS: "60000" });
    const rec = record();
    const started = Date.now();
    await r.run([job("slow", { timeoutS: 2 }), job("welcome"), job("passing")], rec.ctx);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(rec.outcomes.get("slow")).toMatchObject({
      status: "timed_out",
      message: "exceeded its timeout of 2s",
      file: "tests/slow.spec.ts",
    });
    expect(rec.outcomes.get("passing")).toMatchObject({ status: "passed" });
    expect(rec.outcomes.get("welcome")).toMatchObject({ status: "passed" });
    expect(invocations()).toBe(2);
  }, 60_000);

  test("Playwright's own per-test timeout gives timed_out with the test's location", async () => {
    const { r } = runner({ QGJOB_SLOW_MS: "60000" });
    const rec = record();
    await r.run([job("slow", { timeoutS: 2 })], rec.ctx);
    expect(rec.outcomes.get("slow")).toMatchObject({
      status: "timed_out",
      message: "waits a long time: Test timeout of 2000ms exceeded.",
      file: "tests/slow.spec.ts",
      line: 4,
    });
  }, 60_000);

  test("AppWright's global setup failing gives every job an error with its message", async () => {
    const { r } = runner({ ANDROID_HOME: undefined });
    const rec = record();
    await r.run([job("passing"), job("failing")], rec.ctx);
    for (const id of ["passing", "failing"]) {
      expect(rec.outcomes.get(id)).toMatchObject({
        status: "error",
        message: expect.stringContaining("The ANDROID_HOME environment variable is not set"),
      });
    }
  }, 60_000);

  describe("in a copy of the project (spaces and parentheses in its paths)", () => {
    let copy: string;
    beforeAll(() => {
      copy = exampleCopy(path.join(work, "my demo (copy)"), {
        "tests/log in (old).spec.ts": "from:tests/passing.spec.ts",
        // Matched by a file argument taken as a plain regex ("tests/failing.spec.ts"): must not run.
        "tests/xfailing.spec.ts": "from:tests/failing.spec.ts",
      });
    });

    test("runs exactly the files asked for, with qgjob's environment", async () => {
      writeFileSync(
        path.join(copy, "tests", "env.spec.ts"),
        [
          'import { test, expect } from "appwright";',
          'test("sees qgjob\'s environment", async () => {',
          "  expect({",
          "    build: process.env.QGJOB_BUILD_PATH,",
          "    version: process.env.QGJOB_APP_VERSION_ID,",
          "    attempt: process.env.QGJOB_ATTEMPT,",
          "    ci: !!process.env.CI,",
          "    html: process.env.PLAYWRIGHT_HTML_OPEN,",
          `  }).toEqual(${JSON.stringify({ build: apk, version: "av-1", attempt: "3", ci: true, html: "never" })});`,
          "});",
          "",
        ].join("\n"),
      );
      const { r, lines } = runner({}, copy);
      const rec = record();
      await r.run(
        [
          job("old", { testPath: "tests/log in (old).spec.ts", attempt: 3 }),
          job("failing", { attempt: 3 }),
          job("env", { attempt: 3 }),
        ],
        rec.ctx,
      );
      expect(lines).toContain("Running 3 tests using 1 worker");
      expect(rec.outcomes.get("env")).toMatchObject({ status: "passed" });
      expect(rec.outcomes.get("old")).toMatchObject({ status: "passed" });
      expect(rec.outcomes.get("failing")).toMatchObject({
        status: "failed",
        file: "tests/failing.spec.ts",
        line: 6,
      });
    }, 60_000);

    test("a broken config gives every job an error with the output tail", async () => {
      writeFileSync(
        path.join(copy, "appwright.config.ts"),
        'throw new Error("config broken on purpose");\nexport default {};\n',
      );
      const { r } = runner({}, copy);
      const rec = record();
      await r.run(
        [job("old", { testPath: "tests/log in (old).spec.ts" }), job("failing")],
        rec.ctx,
      );
      for (const id of ["old", "failing"]) {
        const o = rec.outcomes.get(id)!;
        expect(o).toMatchObject({ status: "error" });
        expect(o.logTail).toContain("config broken on purpose");
      }
    }, 60_000);
  });

  test("AppWright crashing in its global setup (no emulator binary): errors with the tail", async () => {
    const { r } = runner({ ANDROID_HOME: mkdtempSync(path.join(work, "empty-sdk-")) });
    const rec = record();
    await r.run([job("passing"), job("failing")], rec.ctx);
    for (const id of ["passing", "failing"]) {
      const o = rec.outcomes.get(id)!;
      expect(o).toMatchObject({
        status: "error",
        message: expect.stringMatching(/^AppWright left no report/),
      });
      expect(o.logTail).toContain("Error fetching emulator list");
    }
  }, 60_000);

  test("a project without @playwright/test installed: errors, no crash", async () => {
    const empty = mkdtempSync(path.join(work, "empty-"));
    const { r } = runner({}, empty);
    const rec = record();
    await r.run([job("passing")], rec.ctx);
    expect(rec.outcomes.get("passing")).toMatchObject({
      status: "error",
      message: expect.stringContaining("@playwright/test is not installed"),
    });
  });
});

describe("planInvocations", () => {
  test.each([
    {
      name: "one attempt, distinct files: one invocation in the given order",
      jobs: [job("a"), job("b"), job("c")],
      groups: [["a", "b", "c"]],
    },
    {
      name: "attempts split, first appearance first",
      jobs: [job("a", { attempt: 2 }), job("b"), job("c", { attempt: 2 })],
      groups: [["a", "c"], ["b"]],
    },
    {
      name: "the same file twice goes to a second invocation",
      jobs: [job("a"), { ...job("a"), id: "a2", testPath: "./tests/a.spec.ts" }, job("b")],
      groups: [["a", "b"], ["a2"]],
    },
  ])("$name", ({ jobs, groups }) => {
    expect(planInvocations(jobs, "/p").map((g) => g.map((j) => j.id))).toEqual(groups);
  });
});

test("exactFileFilter: Playwright's regex for the file matches only that path", () => {
  const file = "/w/my demo (copy)/tests/a+b [1].spec.ts";
  const arg = exactFileFilter(file);
  // What Playwright's forceRegExp does with a /.../ argument.
  const m = /^\/(.*)\/([gi]*)$/.exec(arg)!;
  const re = new RegExp(m[1]!, m[2]);
  expect(re.test(file)).toBe(true);
  expect(re.test(file + "x")).toBe(false);
  expect(re.test("/x" + file)).toBe(false);
  // And its file:line parsing leaves it alone.
  expect(/^(.*?):(\d+):?(\d+)?$/.test(arg)).toBe(false);
});
