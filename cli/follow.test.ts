import { describe, expect, it } from "vitest";
import { ApiError, type QgjobClient } from "../api/client.js";
import type { Job, RunWithJobs } from "../api/schemas.js";
import { follow, reportWait, type FollowResult } from "./follow.js";
import { failed, fakeJob, fakeRun, passed } from "../api/testing.js";

/** A client whose waitRun/waitJob answer from a script, advancing a fake clock by each wait. */
function scripted(answers: (RunWithJobs | Job | ApiError)[]) {
  let t = 1_000_000;
  const calls: number[] = [];
  const answer = async (_id: string, waitS: number) => {
    calls.push(waitS);
    const next = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (next instanceof ApiError) {
      t += 100;
      throw next;
    }
    // A long poll that does not end early holds for its whole window.
    const done = "jobs" in next ? !["queued", "running"].includes(next.status) : false;
    t += done ? 100 : waitS * 1000;
    return next;
  };
  const client = { waitRun: answer, waitJob: answer } as unknown as QgjobClient;
  return { client, calls, now: () => t };
}

const lost = () =>
  new ApiError(
    "network",
    "GET",
    "http://x/api",
    null,
    "unreachable",
    "cannot reach (ECONNREFUSED)",
  );

describe("follow", () => {
  it("looks at once, then long-polls in short windows while showing progress, until the run ends", async () => {
    const a = fakeJob({ test_path: "tests/a.spec.js" });
    const { client, calls, now } = scripted([
      fakeRun([a], { status: "queued" }),
      fakeRun([{ ...a, status: "running" }]),
      fakeRun([passed("tests/a.spec.js", { id: a.id })], { status: "passed" }),
    ]);
    const out: string[] = [];
    const result = await follow(
      client,
      { kind: "run", id: "run_01JD8ZK3V4QH6T2X0M9B5C7R1E" },
      { progress: true, tty: false, write: (t) => out.push(t), now },
    );
    expect(calls).toEqual([0, 3, 3]);
    expect(result).toMatchObject({ done: true, status: "passed" });
    expect(out.join("")).toBe(
      "[00:00] 1 queued · 0 running · 0 passed · 0 failed · 0 flaky\n" +
        "[00:03] 0 queued · 1 running · 0 passed · 0 failed · 0 flaky\n" +
        "✓ tests/a.spec.js 4.2s\n" +
        "[00:03] 0 queued · 0 running · 1 passed · 0 failed · 0 flaky\n",
    );
  });

  it("uses 30 s windows without progress, never past the timeout, and stops there", async () => {
    const { client, calls, now } = scripted([fakeRun([fakeJob()], { status: "queued" })]);
    const out: string[] = [];
    const result = await follow(
      client,
      { kind: "run", id: "run_01JD8ZK3V4QH6T2X0M9B5C7R1E" },
      { timeoutMs: 45_500, progress: false, tty: false, write: (t) => out.push(t), now },
    );
    expect(calls).toEqual([0, 30, 16]);
    expect(result).toMatchObject({ done: false, status: "queued" });
    expect(out).toEqual([]);
  });

  it("waits on a job with waitJob and ends when the job does", async () => {
    const job = fakeJob();
    const { client, calls, now } = scripted([job, { ...job, status: "error" }]);
    const result = await follow(
      client,
      { kind: "job", id: job.id },
      { progress: false, tty: false, write: () => {}, now },
    );
    expect(calls).toEqual([0, 30]);
    expect(result).toMatchObject({ done: true, status: "error", jobs: [{ id: job.id }] });
  });

  it("rides out a server that goes away after the first answer, saying so once", async () => {
    const { client, now } = scripted([
      fakeRun([fakeJob()], { status: "queued" }),
      lost(),
      lost(),
      fakeRun([passed("a.js")], { status: "passed" }),
    ]);
    const out: string[] = [];
    const result = await follow(
      client,
      { kind: "run", id: "run_01JD8ZK3V4QH6T2X0M9B5C7R1E" },
      { progress: false, tty: false, write: (t) => out.push(t), now, sleep: async () => {} },
    );
    expect(result.done).toBe(true);
    expect(out).toEqual([
      "qgjob: lost the server (unreachable); trying again for up to a minute\n",
    ]);
  });

  it("fails at once when the first look fails or the server refuses", async () => {
    const first = scripted([lost()]);
    await expect(
      follow(
        first.client,
        { kind: "run", id: "run_x" },
        {
          progress: false,
          tty: false,
          write: () => {},
          now: first.now,
        },
      ),
    ).rejects.toMatchObject({ kind: "network" });

    const notFound = new ApiError("http", "GET", "http://x", 404, "not_found", "run gone");
    const later = scripted([fakeRun([fakeJob()], { status: "queued" }), notFound]);
    await expect(
      follow(
        later.client,
        { kind: "run", id: "run_x" },
        {
          progress: false,
          tty: false,
          write: () => {},
          now: later.now,
        },
      ),
    ).rejects.toBe(notFound);
  });
});

describe("reportWait", () => {
  const result = (over: Partial<FollowResult>): FollowResult => {
    const run = fakeRun([failed("tests/b.spec.js", "expected 1 to be 2")], { status: "failed" });
    return { last: run, jobs: run.jobs, status: "failed", done: true, elapsedMs: 12_000, ...over };
  };
  const target = { kind: "run", id: "run_X" } as const;

  it.each([
    ["passed", true, 0],
    ["failed", true, 1],
    ["cancelled", true, 1],
    ["queued", false, 4],
    ["running", false, 4],
  ])("%s (done: %s) exits %i", (status, done, code) => {
    expect(reportWait(target, result({ status, done }), { json: true, stdout: () => {} })).toBe(
      code,
    );
  });

  it("prints the summary, or only the last answer as JSON", () => {
    let text = "";
    reportWait(target, result({}), { json: false, stdout: (t) => (text += t) });
    expect(text).toMatch(/^run run_X failed \(waited 00:12\): .*1 failed/);
    expect(text).toContain("expected 1 to be 2 (tests/b.spec.js:7)");

    text = "";
    reportWait(target, result({ status: "queued", done: false }), {
      json: false,
      timeoutMs: 2000,
      stdout: (t) => (text += t),
    });
    expect(text).toMatch(/^timed out after 2\.0s waiting for run run_X, still queued: /);

    text = "";
    const r = result({});
    reportWait(target, r, { json: true, stdout: (t) => (text += t) });
    expect(JSON.parse(text)).toEqual(r.last);
  });
});
