/**
 * The JSON report parser against real reports of the example project
 * (examples/appwright-demo), captured by fixtures/capture-appwright.sh.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  outcomeFromTests,
  parseAppwrightReport,
  stripAnsi,
  type FlatTest,
  type PlaywrightJsonReport,
} from "./appwright-report.js";
import type { StreamEvent } from "./appwright/stream-reporter.js";
import type { RunnerJob, TestOutcome } from "./runner.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const load = (name: string) =>
  JSON.parse(readFileSync(path.join(fixtures, name), "utf8")) as PlaywrightJsonReport;
/** The reports were written in the example project: its directory is the config's. */
const projectDirOf = (report: PlaywrightJsonReport) => path.dirname(report.config!.configFile!);

const job = (id: string, testPath: string, timeoutS = 60): RunnerJob => ({
  id,
  testPath,
  attempt: 1,
  timeoutS,
});

type Expected = Partial<Omit<TestOutcome, "message">> & { message?: RegExp };

const cases: { name: string; fixture: string; jobs: RunnerJob[]; expected: Expected[] }[] = [
  {
    name: "a batch: failures with file and line, a pass, a skip, a file not in the report",
    fixture: "appwright-batch.json",
    jobs: [
      job("failing", "tests/failing.spec.ts"),
      job("flaky", "tests/flaky.spec.ts"),
      job("mixed", "tests/mixed.spec.ts"),
      job("passing", "./tests/passing.spec.ts"),
      job("skipped", "tests//skipped.spec.ts"),
      job("missing", "tests/nothere.spec.ts"),
    ],
    expected: [
      {
        jobId: "failing",
        status: "failed",
        file: "tests/failing.spec.ts",
        line: 6,
        message: /^compares strings: Error: expect\(received\)\.toBe\(expected\)[^]*"goodbye"/,
        artifacts: [],
      },
      {
        jobId: "flaky",
        status: "failed",
        file: "tests/flaky.spec.ts",
        line: 8,
        message: /^passes on retry: Error: first attempt fails on purpose/,
      },
      {
        jobId: "mixed",
        status: "failed",
        file: "tests/mixed.spec.ts",
        line: 13,
        message: /^second fails with an attachment: Error: expect\(received\)\.toEqual/,
      },
      { jobId: "passing", status: "passed", message: undefined, file: undefined, artifacts: [] },
      { jobId: "skipped", status: "passed", message: /^skipped: not on this device$/ },
      {
        jobId: "missing",
        status: "error",
        message: /^no test ran for tests\/nothere\.spec\.ts/,
      },
    ],
  },
  {
    name: "a test past Playwright's --timeout",
    fixture: "appwright-test-timeout.json",
    jobs: [job("slow", "tests/slow.spec.ts", 2)],
    expected: [
      {
        jobId: "slow",
        status: "timed_out",
        message: /^waits a long time: Test timeout of 2000ms exceeded\.$/,
        // No error location for a timeout: the test's own.
        file: "tests/slow.spec.ts",
        line: 4,
        artifacts: [],
      },
    ],
  },
  {
    name: "the global timeout: the finished file passes, the cut one is an error",
    fixture: "appwright-global-timeout.json",
    jobs: [job("passing", "tests/passing.spec.ts"), job("slow", "tests/slow.spec.ts")],
    expected: [
      { jobId: "passing", status: "passed" },
      {
        jobId: "slow",
        status: "error",
        message: /^Timed out waiting 3s for the test suite to run\nTimed out waiting 3s/,
      },
    ],
  },
  {
    name: 'a project path with " (" in it (Playwright cuts the error location)',
    fixture: "appwright-paren-path.json",
    jobs: [job("failing", "tests/failing.spec.ts")],
    expected: [{ jobId: "failing", status: "failed", file: "tests/failing.spec.ts", line: 6 }],
  },
  {
    name: "no test file matched",
    fixture: "appwright-no-tests.json",
    jobs: [job("missing", "tests/nothere.spec.ts")],
    expected: [{ jobId: "missing", status: "error", message: /^Error: No tests found\./ }],
  },
  {
    name: "AppWright's global setup failed",
    fixture: "appwright-setup-error.json",
    jobs: [job("a", "tests/passing.spec.ts"), job("b", "tests/failing.spec.ts")],
    expected: [
      { jobId: "a", status: "error", message: /^Error: The ANDROID_HOME environment variable/ },
      { jobId: "b", status: "error", message: /^Error: The ANDROID_HOME environment variable/ },
    ],
  },
];

function check(actual: TestOutcome, expected: Expected) {
  const { message, ...rest } = expected;
  const present = Object.entries(rest).filter(([, v]) => v !== undefined);
  expect(actual).toMatchObject(Object.fromEntries(present));
  for (const [key, value] of Object.entries(expected)) {
    if (value === undefined) expect(actual[key as keyof TestOutcome]).toBeUndefined();
  }
  if (message) expect(actual.message).toMatch(message);
  if (actual.message) expect(actual.message).not.toContain("\u001b");
}

describe("parseAppwrightReport", () => {
  test.each(cases)("$name", ({ fixture, jobs, expected }) => {
    const report = load(fixture);
    const outcomes = parseAppwrightReport(report, jobs, { projectDir: projectDirOf(report) });
    expect(outcomes.map((o) => o.jobId)).toEqual(jobs.map((j) => j.id));
    outcomes.forEach((o, i) => check(o, expected[i]!));
  });

  test("durations: the sum of the file's tests' final attempts", () => {
    const report = load("appwright-batch.json");
    const mixed = report.suites!.find((s) => s.file === "mixed.spec.ts")!;
    const sum = mixed.specs!.reduce((n, s) => n + s.tests![0]!.results!.at(-1)!.duration, 0);
    const [outcome] = parseAppwrightReport(report, [job("m", "tests/mixed.spec.ts")], {
      projectDir: projectDirOf(report),
    });
    expect(sum).toBeGreaterThan(0);
    expect(outcome!.durationMs).toBe(Math.round(sum));
  });

  test("attachments with a path become artifacts, Playwright's error-context does not", () => {
    const report = load("appwright-batch.json");
    const [outcome] = parseAppwrightReport(report, [job("m", "tests/mixed.spec.ts")], {
      projectDir: projectDirOf(report),
    });
    expect(outcome!.artifacts).toEqual([
      {
        name: "notes",
        path: expect.stringMatching(/\/notes-[0-9a-f]+\.txt$/),
        content_type: "text/plain",
      },
    ]);
  });

  test("an absolute testPath and a projectDir given with a trailing slash still match", () => {
    const report = load("appwright-batch.json");
    const dir = projectDirOf(report);
    const [outcome] = parseAppwrightReport(
      report,
      [job("f", path.join(dir, "tests", "failing.spec.ts"))],
      { projectDir: dir + "/" },
    );
    expect(outcome).toMatchObject({ status: "failed", file: "tests/failing.spec.ts", line: 6 });
  });

  test("only the named project's tests count", () => {
    const report = load("appwright-batch.json");
    const [outcome] = parseAppwrightReport(report, [job("p", "tests/passing.spec.ts")], {
      projectDir: projectDirOf(report),
      projectName: "browserstack",
    });
    expect(outcome).toMatchObject({ status: "error" });
  });

  test("no report: every job is an error with the output tail", () => {
    const tail = "Error: Cannot find module 'appwright'\n    at require (node:internal)\n\n";
    const outcomes = parseAppwrightReport(
      null,
      [job("a", "tests/a.spec.ts"), job("b", "tests/b.spec.ts")],
      { projectDir: "/p", logTail: tail },
    );
    expect(outcomes).toEqual(
      ["a", "b"].map((jobId) => ({
        jobId,
        status: "error",
        durationMs: 0,
        message: "AppWright left no report: at require (node:internal)",
        logTail: tail,
        artifacts: [],
      })),
    );
  });
});

describe("the stream reporter's lines", () => {
  test("give the same outcomes as the JSON report of the same run", () => {
    const report = load("appwright-batch.json");
    const projectDir = projectDirOf(report);
    const jobs = ["failing", "flaky", "mixed", "passing", "skipped"].map((n) =>
      job(n, `tests/${n}.spec.ts`),
    );
    const fromReport = parseAppwrightReport(report, jobs, { projectDir });
    const events = readFileSync(path.join(fixtures, "appwright-batch.stream.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as StreamEvent);
    expect(events.map((e) => `${e.type} ${path.basename(e.file)}`)).toEqual(
      jobs.flatMap((j) => [`begin ${j.id}.spec.ts`, `end ${j.id}.spec.ts`]),
    );
    for (const event of events) {
      if (event.type !== "end") continue;
      const j = jobs.find((x) => event.file === path.join(projectDir, x.testPath))!;
      const fromStream = outcomeFromTests(j, event.tests as FlatTest[], { projectDir });
      expect(fromStream).toEqual(fromReport.find((o) => o.jobId === j.id));
    }
  });
});

test("stripAnsi", () => {
  expect(stripAnsi("\u001b[31mTest timeout\u001b[39m of \u001b[2mexpect(\u001b[22m")).toBe(
    "Test timeout of expect(",
  );
});
