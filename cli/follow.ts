/**
 * Waiting for a run or a job to end, shared by `qgjob wait` and `qgjob submit --wait`.
 *
 * It long-polls the server's wait endpoint in a loop. The server answers such a poll early only
 * when the run ends, so while progress is shown the poll window is short (3 s) to see jobs end
 * as they do; without progress (--json) it is 30 s. A server that goes away after the first
 * answer (a restart) is tried again for up to a minute before the wait gives up.
 */
import { ApiError, type QgjobClient } from "../api/client.js";
import type { Job, RunWithJobs } from "../api/schemas.js";
import { formatClock, formatDuration } from "../report/duration.js";
import { ExitStatus } from "./connection.js";
import { EXIT } from "./exit-codes.js";
import { exitCodeFor, formatSummary } from "./output.js";
import { isFinished, isRunOpen } from "../api/status.js";
import { ProgressRenderer } from "../report/progress.js";

export type Followed = { kind: "run"; id: string } | { kind: "job"; id: string };

export interface FollowOptions {
  /** Give up after this long; undefined waits until the end. */
  timeoutMs?: number | undefined;
  /** Show live progress on `write` (stderr). */
  progress: boolean;
  /** Redraw one line in place instead of printing a line per change. */
  tty: boolean;
  write: (text: string) => void;
  /** Long-poll window in seconds while progress is shown (default 3). */
  progressPollS?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export interface FollowResult {
  /** The last answer: a run with its jobs, or a job. */
  last: RunWithJobs | Job;
  jobs: Job[];
  status: string;
  /** False when the wait timed out before the end. */
  done: boolean;
  elapsedMs: number;
}

const LOST_LIMIT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function follow(
  client: QgjobClient,
  target: Followed,
  opts: FollowOptions,
): Promise<FollowResult> {
  const now = opts.now ?? Date.now;
  const pause = opts.sleep ?? sleep;
  const start = now();
  const deadline = opts.timeoutMs === undefined ? Infinity : start + opts.timeoutMs;
  const windowS = opts.progress ? (opts.progressPollS ?? 3) : 30;
  const renderer = new ProgressRenderer({ tty: opts.tty });
  const show = (text: string) => {
    if (opts.progress && text) opts.write(text);
  };

  const poll = async (waitS: number): Promise<{ last: RunWithJobs | Job; jobs: Job[] }> => {
    if (target.kind === "run") {
      const run = await client.waitRun(target.id, waitS);
      return { last: run, jobs: run.jobs };
    }
    const job = await client.waitJob(target.id, waitS);
    return { last: job, jobs: [job] };
  };
  const isDone = (last: RunWithJobs | Job) =>
    target.kind === "run" ? !isRunOpen(last.status) : isFinished(last);

  // Ctrl-C stops waiting, not the run: say so, and how to stop it.
  const onSigint = () => {
    show(renderer.finish());
    opts.write(
      `qgjob: stopped waiting; the ${target.kind} goes on (qgjob cancel --${target.kind}-id ${target.id} stops it)\n`,
    );
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  const ticker =
    opts.progress && opts.tty ? setInterval(() => show(renderer.tick(now() - start)), 1000) : null;
  ticker?.unref();

  let latest: { last: RunWithJobs | Job; jobs: Job[] } | undefined;
  let lostSince: number | null = null;
  try {
    for (;;) {
      const remainingMs = deadline - now();
      // The first look is immediate, so progress starts at once.
      const waitS =
        latest === undefined ? 0 : Math.max(1, Math.min(windowS, Math.ceil(remainingMs / 1000)));
      try {
        latest = await poll(waitS);
        lostSince = null;
      } catch (err) {
        if (!(err instanceof ApiError) || !err.retryable || latest === undefined) throw err;
        if (lostSince === null) {
          lostSince = now();
          show(renderer.finish());
          opts.write(`qgjob: lost the server (${err.code}); trying again for up to a minute\n`);
        } else if (now() - lostSince > LOST_LIMIT_MS) {
          throw err;
        }
        await pause(Math.min(2000, deadline - now()));
        if (now() >= deadline) break;
        continue;
      }
      show(renderer.update(latest.jobs, now() - start));
      if (isDone(latest.last) || now() >= deadline) break;
    }
  } finally {
    if (ticker) clearInterval(ticker);
    process.off("SIGINT", onSigint);
    show(renderer.finish());
  }
  if (!latest) throw new Error("unreachable: no answer yet");
  return {
    last: latest.last,
    jobs: latest.jobs,
    status: latest.last.status,
    done: isDone(latest.last),
    elapsedMs: now() - start,
  };
}

/**
 * Prints the end of a wait (JSON on stdout, or the summary) and answers the exit code: the
 * outcome's (0 passed, 1 failed or cancelled), or 4 when the wait timed out first.
 */
export function reportWait(
  target: Followed,
  result: FollowResult,
  opts: { json: boolean; timeoutMs?: number | undefined; stdout: (text: string) => void },
): number {
  if (opts.json) {
    opts.stdout(JSON.stringify(result.last, null, 2) + "\n");
  } else {
    const what = `${target.kind} ${target.id}`;
    const clock = formatClock(result.elapsedMs);
    const headline = result.done
      ? `${what} ${result.status.replace("_", " ")} (waited ${clock})`
      : `timed out after ${formatDuration(opts.timeoutMs ?? result.elapsedMs)} waiting for ${what}, still ${result.status}`;
    opts.stdout(formatSummary(headline, result.jobs));
  }
  return result.done ? exitCodeFor(result.status) : EXIT.timedOut;
}

/**
 * What `submit --wait` and `wait` do: follow with progress on stderr (none with --json), print
 * the outcome on stdout, and end with the exit code the outcome calls for.
 */
export async function waitAndReport(
  client: QgjobClient,
  target: Followed,
  opts: { json: boolean; timeoutMs: number | undefined },
): Promise<void> {
  const result = await follow(client, target, {
    timeoutMs: opts.timeoutMs,
    progress: !opts.json,
    tty: process.stderr.isTTY === true,
    write: (t) => process.stderr.write(t),
  });
  const code = reportWait(target, result, {
    json: opts.json,
    timeoutMs: opts.timeoutMs,
    stdout: (t) => process.stdout.write(t),
  });
  if (code !== 0) throw new ExitStatus(code);
}
