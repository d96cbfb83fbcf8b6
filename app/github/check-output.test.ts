import { describe, expect, it } from "vitest";
import type { Job, RunWithJobs } from "../../api/schemas.js";
import { checkStatus, conclusion, renderCheck } from "./check-output.js";
import { clipBytes, MAX_ANNOTATION_BYTES, MAX_OUTPUT_BYTES, utf8Bytes } from "./limits.js";

const T1 = "2026-11-21T10:00:00.000Z";
const T2 = "2026-11-21T11:00:00.000Z";

function job(test_path: string, status: Job["status"], extra: Partial<Job> = {}): Job {
  return {
    id: `job_${test_path}`,
    run_id: "run_01JD0000000000000000000000",
    org_id: "acme",
    app_version_id: "v1",
    target: "emulator",
    device: null,
    test_path,
    tags: [],
    priority: 5,
    status,
    flaky: false,
    attempts: 1,
    max_attempts: 3,
    retries: 0,
    timeout_s: 900,
    agent_id: null,
    lease_id: null,
    created_at: T1,
    started_at: null,
    finished_at: null,
    duration_ms: status === "queued" ? null : 1200,
    result:
      status === "failed"
        ? {
            message: "\u001b[31mError: no #login\u001b[0m\n  at x",
            file: test_path,
            line: 12,
            artifacts: [],
          }
        : null,
    rerun_of: null,
    superseded_by: null,
    quarantined_until: null,
    ...extra,
  };
}

const run = (jobs: Job[]): RunWithJobs => ({
  id: "run_01JD0000000000000000000000",
  org_id: "acme",
  source: "github",
  status: "running",
  app_version_ids: ["v1"],
  repo: "acme/mobile",
  sha: null,
  ref: null,
  counts: {} as RunWithJobs["counts"],
  created_at: T1,
  finished_at: null,
  bundle: null,
  build: null,
  fail_fast: null,
  jobs,
});

describe("check status and conclusion", () => {
  it("is queued until a job starts, in progress until all end", () => {
    expect(checkStatus([job("a", "queued"), job("b", "leased")])).toBe("in_progress");
    expect(checkStatus([job("a", "queued")])).toBe("queued");
    expect(checkStatus([job("a", "passed"), job("b", "queued")])).toBe("in_progress");
    expect(checkStatus([job("a", "passed"), job("b", "cancelled")])).toBe("completed");
  });

  it("starts over as queued when a re-run adds later jobs", () => {
    const rerun = job("b", "queued", { created_at: T2, rerun_of: "job_old" });
    expect(checkStatus([job("a", "passed"), rerun])).toBe("queued");
    expect(checkStatus([job("a", "passed"), { ...rerun, status: "running" }])).toBe("in_progress");
  });

  it("concludes failure over timed_out over cancelled over success; neutral when empty", () => {
    expect(conclusion([job("a", "passed"), job("b", "error"), job("c", "timed_out")])).toBe(
      "failure",
    );
    expect(conclusion([job("a", "passed"), job("c", "timed_out")])).toBe("timed_out");
    expect(conclusion([job("a", "passed"), job("c", "cancelled")])).toBe("cancelled");
    expect(conclusion([job("a", "passed", { flaky: true })])).toBe("success");
    expect(conclusion([])).toBe("neutral");
  });
});

describe("renderCheck", () => {
  it("annotates each failure at its file and line under the test root, and offers a re-run", () => {
    const view = renderCheck(
      run([job("tests/a.spec.ts", "failed"), job("tests/b.spec.ts", "passed")]),
      {
        testRoot: "apps/mobile",
        detailsUrl: "https://qgjob.example.com/runs/run_01JD0000000000000000000000",
      },
    );
    expect(view).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(view.output.title).toBe("1 failed, 1 passed");
    // The title has the counts; the summary does not start by repeating them.
    expect(view.output.summary.split("\n")[0]).not.toMatch(/passed|failed/);
    expect(view.output.summary).toContain(
      'href="https://qgjob.example.com/runs/run_01JD0000000000000000000000"',
    );
    expect(view.output.text).toContain("`apps/mobile/tests/a.spec.ts:12`");
    expect(view.output.text).not.toContain("\u001b");
    expect(view.annotations).toEqual([
      {
        path: "apps/mobile/tests/a.spec.ts",
        start_line: 12,
        end_line: 12,
        annotation_level: "failure",
        title: "tests/a.spec.ts failed",
        message: "Error: no #login\n  at x",
      },
    ]);
    expect(view.actions.map((a) => a.identifier)).toEqual(["rerun_failed"]);
  });

  it("keeps the summary within GitHub's byte limit however many tests there are", () => {
    const jobs = Array.from({ length: 3000 }, (_, i) =>
      job(`tests/${"deep/".repeat(10)}t${i}.spec.ts`, "passed"),
    );
    const url = "https://qgjob.example.com/runs/run_01JD0000000000000000000000";
    const view = renderCheck(run(jobs), { testRoot: "", detailsUrl: url });
    // Each row's status icon is 3 bytes: counting characters would overshoot.
    expect(utf8Bytes(view.output.summary)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(view.output.summary).toMatch(
      new RegExp(`… \\d+ more tests in <a href="${url}">the dashboard</a>\\.$`),
    );
    expect(view.conclusion).toBe("success");
    expect(view.actions).toEqual([]);
  });

  it("keeps multi-byte failure text within the byte limit, cut at a character boundary", () => {
    const cjk = "画面にログインボタンが表示されませんでした。".repeat(200);
    const jobs = Array.from({ length: 20 }, (_, i) =>
      job(`tests/t${i}.spec.ts`, "failed", {
        result: { message: cjk, file: `tests/t${i}.spec.ts`, line: 3, artifacts: [] },
      }),
    );
    const view = renderCheck(run(jobs), { testRoot: "", detailsUrl: null });
    const text = view.output.text!;
    expect(text.length).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(utf8Bytes(text)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(text).not.toContain("\uFFFD");
    expect(text).toMatch(/… \d+ more failures in the dashboard\.$/);
    for (const a of view.annotations) {
      expect(utf8Bytes(a.message)).toBeLessThanOrEqual(MAX_ANNOTATION_BYTES);
    }
  });

  it("cuts text at a character boundary, never inside a multi-byte character", () => {
    const emoji = "🚫".repeat(20_000); // 80,000 bytes, 4 per character
    const cut = clipBytes(emoji, MAX_ANNOTATION_BYTES);
    expect(utf8Bytes(cut)).toBeLessThanOrEqual(MAX_ANNOTATION_BYTES);
    expect(cut).not.toContain("\uFFFD");
    expect(cut.endsWith("🚫…")).toBe(true);
    expect(clipBytes("ab", 2)).toBe("ab");
  });

  it("reports when the first job started and the last one ended", () => {
    const view = renderCheck(
      run([
        job("a", "passed", {
          started_at: "2026-11-21T10:01:00.000Z",
          finished_at: "2026-11-21T10:03:00.000Z",
        }),
        job("b", "failed", {
          started_at: "2026-11-21T10:00:30.000Z",
          finished_at: "2026-11-21T10:02:00.000Z",
        }),
      ]),
      { testRoot: "", detailsUrl: null },
    );
    expect(view.startedAt).toBe("2026-11-21T10:00:30.000Z");
    expect(view.completedAt).toBe("2026-11-21T10:03:00.000Z");
    const open = renderCheck(run([job("a", "running", { started_at: T2 })]), {
      testRoot: "",
      detailsUrl: null,
    });
    expect(open).toMatchObject({ status: "in_progress", startedAt: T2 });
    expect(open.completedAt).toBeUndefined();
    expect(open.output.title).toBe("1 running");
  });
});
