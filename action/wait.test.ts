import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client.js";
import type { Job, RunWithJobs } from "../api/schemas.js";
import type { ActionInputs } from "./inputs.js";
import { memoryLog } from "./log.js";
import { failedJob as failed, finishedJob as job, runOf } from "../api/testing.js";
import { giveUp, waitForOutcome, waitForRun } from "./wait.js";

/** A fake server: each waitRun answers the next run in `answers` (or throws it), advancing a clock. */
function fakeClient(
  answers: (RunWithJobs | Error)[],
  clock: { t: number },
  stepMs = 1000,
  initial = runOf([job({ test_path: "a.sh", status: "running" })]),
) {
  const calls: { id: string; waitS: number }[] = [];
  const cancelled: string[] = [];
  let last = initial;
  return {
    calls,
    cancelled,
    async waitRun(id: string, waitS: number) {
      calls.push({ id, waitS });
      clock.t += stepMs;
      const next = answers.shift();
      if (!next) return last;
      if (next instanceof Error) throw next;
      last = next;
      return next;
    },
    // A server without the run event stream (404): the wait falls back to long polls.
    runEvents: () =>
      Promise.reject(new ApiError("http", "GET", "http://x/api", 404, "not_found", "no route")),
    async cancelRun(id: string) {
      cancelled.push(id);
      return runOf([]);
    },
    async getRun(id: string) {
      return runOf([job({ test_path: "a.sh", status: "cancelled" })], { id, status: "cancelled" });
    },
  };
}

const lost = () =>
  new ApiError(
    "network",
    "GET",
    "http://x/api/v1/runs/r/wait",
    null,
    "unreachable",
    "cannot reach the server (ECONNREFUSED)",
    undefined,
    "ECONNREFUSED",
  );

describe("waiting for a run", () => {
  it("logs one line per change: each job as it ends, the counts when they change", async () => {
    const clock = { t: 0 };
    // The same two jobs as the server answers them over time.
    const a = (over: Partial<Job>) => job({ id: "job_aaaaaaaaaa", test_path: "a.sh", ...over });
    const b = (over: Partial<Job>) => job({ id: "job_bbbbbbbbbb", test_path: "b.sh", ...over });
    const queued = runOf([a({ status: "queued" }), b({ status: "queued" })]);
    const oneRunning = runOf([a({ status: "running" }), b({ status: "queued" })]);
    const aDone = runOf([a({ duration_ms: 4200 }), b({ status: "running" })]);
    const bFailed = { ...failed("b.sh", "expected 1 to be 2", "b.sh", 7), id: "job_bbbbbbbbbb" };
    const allDone = runOf([a({ duration_ms: 4200 }), bFailed]);
    const client = fakeClient([oneRunning, oneRunning, aDone, allDone], clock);
    const log = memoryLog();
    const out = await waitForRun(client, queued, { timeoutMs: 60_000, log, now: () => clock.t });
    expect(out.done).toBe(true);
    expect(out.run.status).toBe("failed");
    expect(log.lines).toEqual([
      "[00:00] 2 queued · 0 running · 0 passed · 0 failed · 0 flaky",
      "[00:01] 1 queued · 1 running · 0 passed · 0 failed · 0 flaky",
      "✓ a.sh 4.2s",
      "[00:03] 0 queued · 1 running · 1 passed · 0 failed · 0 flaky",
      "✗ b.sh 1.2s  expected 1 to be 2 (b.sh:7)",
      "[00:04] 0 queued · 0 running · 1 passed · 1 failed · 0 flaky",
    ]);
    expect(client.calls.map((c) => c.waitS)).toEqual([5, 5, 5, 5]);
  });

  it("stops at the deadline, never polling past it", async () => {
    const clock = { t: 0 };
    const running = runOf([job({ test_path: "a.sh", status: "running" })]);
    const client = fakeClient([], clock, 2000);
    const out = await waitForRun(client, running, {
      timeoutMs: 7000,
      log: memoryLog(),
      now: () => clock.t,
      pollS: 5,
    });
    expect(out).toMatchObject({ done: false, elapsedMs: 8000 });
    expect(client.calls.map((c) => c.waitS)).toEqual([5, 5, 3, 1]);
  });

  it("rides out a server that goes away for a while, and gives up after the limit", async () => {
    const clock = { t: 0 };
    const running = runOf([job({ test_path: "a.sh", status: "running" })]);
    const done = runOf([job({ test_path: "a.sh" })]);
    const log = memoryLog();
    const sleep = async (ms: number) => void (clock.t += ms);
    const client = fakeClient([lost(), lost(), done], clock);
    const out = await waitForRun(client, running, {
      timeoutMs: 60_000,
      log,
      now: () => clock.t,
      sleep,
    });
    expect(out.done).toBe(true);
    expect(log.lines).toContain(
      "warning: qgjob: lost the server (cannot reach the server (ECONNREFUSED)); trying again for up to 120s",
    );
    expect(log.lines).toContain("qgjob: the server is back");

    const never = fakeClient(Array.from({ length: 100 }, lost), clock);
    await expect(
      waitForRun(never, running, {
        timeoutMs: 3_600_000,
        log: memoryLog(),
        now: () => clock.t,
        sleep,
        lostLimitMs: 10_000,
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it("never stays quiet for 30 s: a still-running line while nothing changes, or lost", async () => {
    const clock = { t: 0 };
    const running = runOf([job({ test_path: "a.sh", status: "running" })]);
    const done = runOf([job({ test_path: "a.sh" })]);
    // 12 answers of "no change" 5 s apart (60 s), then the server is gone for 84 s, then done.
    const answers = [
      ...Array.from({ length: 12 }, () => running),
      ...Array.from({ length: 12 }, lost),
      done,
    ];
    const client = fakeClient(answers, clock, 5000);
    const log = memoryLog();
    const sleep = async (ms: number) => void (clock.t += ms);
    const stamped: [number, string][] = [];
    const timed = { ...log, info: (l: string) => void stamped.push([clock.t, l]) };
    const warn = (l: string) => void stamped.push([clock.t, `warning: ${l}`]);
    await waitForRun(client, running, {
      timeoutMs: 600_000,
      log: { ...timed, warning: warn },
      now: () => clock.t,
      sleep,
    });
    const times = stamped.map(([t]) => t);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(30_000);
    expect(stamped.map(([, l]) => l)).toContain(
      "[00:25] 0 queued · 1 running · 0 passed · 0 failed · 0 flaky · still running",
    );
    expect(
      stamped.some(([, l]) => /^qgjob: still trying to reach the server \(\d+s\)$/.test(l)),
    ).toBe(true);
  });

  it("does not ride out a refusal (a 4xx is not going to change)", async () => {
    const clock = { t: 0 };
    const gone = new ApiError("http", "GET", "http://x", 404, "not_found", "no such run");
    const client = fakeClient([gone], clock);
    const running = runOf([job({ test_path: "a.sh", status: "running" })]);
    await expect(
      waitForRun(client, running, { timeoutMs: 60_000, log: memoryLog(), now: () => clock.t }),
    ).rejects.toThrow("no such run");
  });

  it("after a timeout, cancels the run and reports how it ended", async () => {
    const clock = { t: 0 };
    const running = runOf([job({ test_path: "a.sh", status: "running" })]);
    const client = fakeClient([], clock, 30_000);
    const log = memoryLog();
    const inputs = { timeoutMinutes: 1 } as ActionInputs;
    const outcome = await waitForOutcome(
      { client: client as never, inputs, io: { log } as never },
      running,
      { received: null },
      { now: () => clock.t },
    );
    expect(outcome).toMatchObject({ timedOut: true, signal: null });
    expect(outcome.run.status).toBe("cancelled");
    expect(client.cancelled).toEqual(["run_0000000001"]);
    expect(log.lines[0]).toBe("qgjob: waiting for run run_0000000001 (up to 1 minute)");
    expect(log.lines).toContain("qgjob: cancelled run run_0000000001 on the server");
  });

  it("gives up gracefully when even the cancel fails", async () => {
    const run = runOf([job({ test_path: "a.sh", status: "running" })]);
    const log = memoryLog();
    const client = {
      cancelRun: async () => {
        throw lost();
      },
      getRun: async () => run,
    };
    expect(await giveUp(client as never, run, log)).toBe(run);
    expect(log.lines[0]).toMatch(/^warning: qgjob: could not cancel run run_0000000001: /);
  });
});
