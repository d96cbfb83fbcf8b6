/**
 * Waiting for the run to end, with one log line per change: a line for each job as it ends
 * (`✓ tests/a.spec.ts 4.2s`, `✗ tests/b.spec.ts 1.0s  expected … (tests/b.spec.ts:7)`) and the
 * counts whenever they change (`[00:12] 1 queued · 1 running · 2 passed · 0 failed · 0 flaky`).
 * The lines are the CLI's (cli/progress.ts without a terminal).
 *
 * It follows the run's event stream (api/run-watch.ts: one request for the whole run), or, on a
 * server without one, long-polls the wait endpoint with a short window (5 s) to see jobs end
 * as they do; the server answers at once when the run ends. A server that goes away mid-wait (a restart,
 * a deploy) is tried again for up to two minutes before the step gives up.
 *
 * The log never goes quiet for more than about 30 s (a runner's log that stops moving looks hung):
 * with nothing new to say, the counts are repeated, or how long the server has been unreachable.
 *
 * When `timeout-minutes` runs out, the run is cancelled on the server (see giveUp): the Action
 * is the only reader of an `action` run's results, so a run it stops waiting for would hold
 * devices for nobody.
 */
import { ApiError, type QgjobClient } from "../api/client.js";
import { RunWatch } from "../api/run-watch.js";
import type { RunWithJobs } from "../api/schemas.js";
import { ProgressRenderer } from "../report/progress.js";
import { statusLine, tally } from "../report/tally.js";
import type { CancelOnSignal } from "./cancel.js";
import type { Log } from "./log.js";
import type { Plan } from "./plan.js";
import { withWholeResults } from "./results.js";
import type { Outcome } from "./verdict.js";

export interface WaitOptions {
  timeoutMs: number;
  log: Log;
  /** Long-poll window in seconds (default 5), when the server has no event stream. */
  pollS?: number;
  /** How long the server may stay unreachable mid-wait (default 2 minutes). */
  lostLimitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export interface WaitResult {
  run: RunWithJobs;
  /** False when timeout-minutes ran out first. */
  done: boolean;
  elapsedMs: number;
}

export const isRunDone = (run: Pick<RunWithJobs, "status">) =>
  run.status !== "queued" && run.status !== "running";

/** Longest quiet stretch before a "still waiting" line; one loop (a poll window) may add 5 s. */
export const HEARTBEAT_MS = 25_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function waitForRun(
  client: Pick<QgjobClient, "waitRun" | "runEvents">,
  submitted: RunWithJobs,
  opts: WaitOptions,
): Promise<WaitResult> {
  const watch = new RunWatch(client, submitted.id, submitted);
  try {
    return await follow(watch, submitted, opts);
  } finally {
    watch.close();
  }
}

async function follow(watch: RunWatch, submitted: RunWithJobs, opts: WaitOptions) {
  const now = opts.now ?? Date.now;
  const pause = opts.sleep ?? sleep;
  const pollS = opts.pollS ?? 5;
  const lostLimitMs = opts.lostLimitMs ?? 120_000;
  const start = now();
  const deadline = start + opts.timeoutMs;
  const renderer = new ProgressRenderer({ tty: false });
  let spokeAt = start;
  const say = (line: string) => {
    opts.log.info(line);
    spokeAt = now();
  };
  const show = (run: RunWithJobs) => {
    const text = renderer.update(run.jobs, now() - start);
    for (const line of text.split("\n")) if (line) say(line);
  };
  const heartbeat = (line: () => string) => {
    if (now() - spokeAt >= HEARTBEAT_MS) say(line());
  };

  let run = submitted;
  let lostSince: number | null = null;
  show(run);
  while (!isRunDone(run)) {
    const remainingMs = deadline - now();
    if (remainingMs <= 0) return { run, done: false, elapsedMs: now() - start };
    const waitS = Math.max(1, Math.min(pollS, Math.ceil(remainingMs / 1000)));
    try {
      run = await watch.next(waitS);
    } catch (err) {
      if (!(err instanceof ApiError) || !err.retryable) throw err;
      if (lostSince === null) {
        lostSince = now();
        opts.log.warning(
          `qgjob: lost the server (${err.detail}); trying again for up to ${Math.round(lostLimitMs / 1000)}s`,
        );
        spokeAt = lostSince;
      } else if (now() - lostSince > lostLimitMs) {
        throw err;
      }
      const since = lostSince;
      heartbeat(
        () => `qgjob: still trying to reach the server (${Math.round((now() - since) / 1000)}s)`,
      );
      await pause(Math.min(2000, Math.max(0, deadline - now())));
      continue;
    }
    if (lostSince !== null) {
      opts.log.info("qgjob: the server is back");
      lostSince = null;
    }
    show(run);
    heartbeat(() => `${statusLine(tally(run.jobs), now() - start)} · still running`);
  }
  return { run, done: true, elapsedMs: now() - start };
}

/**
 * After a timeout: cancels the run (queued jobs end at once, running ones are stopped by their
 * agent) and answers how it looks then. If the cancel fails, the run as last seen.
 */
export async function giveUp(
  client: Pick<QgjobClient, "cancelRun" | "getRun">,
  run: RunWithJobs,
  log: Log,
): Promise<RunWithJobs> {
  try {
    await client.cancelRun(run.id);
    log.info(`qgjob: cancelled run ${run.id} on the server`);
    return await client.getRun(run.id);
  } catch (err) {
    log.warning(`qgjob: could not cancel run ${run.id}: ${(err as Error).message}`);
    return run;
  }
}

/**
 * The whole wait: follow the run to its end, or cancel it when timeout-minutes runs out. A
 * signal (see cancel.ts) cancels the run, which ends this wait like any other end.
 */
export async function waitForOutcome(
  plan: Pick<Plan, "client" | "inputs" | "io">,
  submitted: RunWithJobs,
  stop: Pick<CancelOnSignal, "received">,
  over: Partial<WaitOptions> = {},
): Promise<Outcome> {
  const { client, inputs, io } = plan;
  const minutes = inputs.timeoutMinutes;
  io.log.info(
    `qgjob: waiting for run ${submitted.id} (up to ${minutes} minute${minutes === 1 ? "" : "s"})`,
  );
  const waited = await waitForRun(client, submitted, {
    timeoutMs: minutes * 60_000,
    log: io.log,
    ...over,
  });
  const last = waited.done ? waited.run : await giveUp(client, waited.run, io.log);
  const run = await withWholeResults(client, last);
  return { run, timedOut: !waited.done, signal: stop.received, elapsedMs: waited.elapsedMs };
}
