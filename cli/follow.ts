/**
 * Waiting for a run or a job to end, shared by `qgjob wait` and `qgjob submit --wait`.
 *
 * A run is followed on its event stream (api/run-watch.ts: one request for the whole run, each
 * change shown as it happens), or, where the server has none, by long-polling the wait
 * endpoint; a job always by long polls. The server answers a poll early only when the run
 * ends, so while progress is shown the poll window is short (3 s) to see jobs end as they do;
 * without progress (--json) it is 30 s. A server that goes away after the first answer (a
 * restart) is tried again for up to a minute before the wait gives up.
 */
import { ApiError, type QgjobClient } from "../api/client.js";
import { RunWatch } from "../api/run-watch.js";
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

interface Seen {
  last: RunWithJobs | Job;
  jobs: Job[];
}

/** Where the answers come from: `next(waitS)` is the state after the next change, or at waitS. */
interface Source {
  next(waitS: number): Promise<Seen>;
  close(): void;
}

const LOST_LIMIT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function follow(
  client: QgjobClient,
  target: Followed,
  opts: FollowOptions,
): Promise<FollowResult> {
  const now = opts.now ?? Date.now;
  const start = now();
  const renderer = new ProgressRenderer({ tty: opts.tty });
  const show = (text: string) => {
    if (opts.progress && text) opts.write(text);
  };
  const source = sourceFor(client, target);
  const stopSigint = stopWaitingOnSigint(target, opts, () => show(renderer.finish()));
  const ticker =
    opts.progress && opts.tty ? setInterval(() => show(renderer.tick(now() - start)), 1000) : null;
  ticker?.unref();
  let latest: Seen;
  try {
    latest = await followToEnd(source, target, opts, {
      start,
      onChange: (seen) => show(renderer.update(seen.jobs, now() - start)),
      onLost: (err) => {
        show(renderer.finish());
        opts.write(`qgjob: lost the server (${err.code}); trying again for up to a minute\n`);
      },
    });
  } finally {
    if (ticker) clearInterval(ticker);
    stopSigint();
    source.close();
    show(renderer.finish());
  }
  return {
    last: latest.last,
    jobs: latest.jobs,
    status: latest.last.status,
    done: isDone(target, latest.last),
    elapsedMs: now() - start,
  };
}

const isDone = (target: Followed, last: RunWithJobs | Job) =>
  target.kind === "run" ? !isRunOpen(last.status) : isFinished(last);

function sourceFor(client: QgjobClient, target: Followed): Source {
  if (target.kind === "run") {
    const watch = new RunWatch(client, target.id);
    return {
      next: async (waitS) => {
        const run = await watch.next(waitS);
        return { last: run, jobs: run.jobs };
      },
      close: () => watch.close(),
    };
  }
  return {
    next: async (waitS) => {
      const job = await client.waitJob(target.id, waitS);
      return { last: job, jobs: [job] };
    },
    close: () => undefined,
  };
}

/** Ctrl-C stops waiting, not the run: say so, and how to stop it. Answers the un-install. */
function stopWaitingOnSigint(target: Followed, opts: FollowOptions, finish: () => void) {
  const onSigint = () => {
    finish();
    opts.write(
      `qgjob: stopped waiting; the ${target.kind} goes on (qgjob cancel --${target.kind}-id ${target.id} stops it)\n`,
    );
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  return () => process.off("SIGINT", onSigint);
}

/**
 * Asks the source until the end or the deadline. The first look is immediate, so progress
 * starts at once; a server lost after that is asked again every 2 s for up to a minute.
 */
async function followToEnd(
  source: Source,
  target: Followed,
  opts: FollowOptions,
  on: { start: number; onChange(seen: Seen): void; onLost(err: ApiError): void },
): Promise<Seen> {
  const now = opts.now ?? Date.now;
  const pause = opts.sleep ?? sleep;
  const deadline = opts.timeoutMs === undefined ? Infinity : on.start + opts.timeoutMs;
  const windowS = opts.progress ? (opts.progressPollS ?? 3) : 30;
  let latest: Seen | undefined;
  let lostSince: number | null = null;
  for (;;) {
    const remainingMs = deadline - now();
    const waitS =
      latest === undefined ? 0 : Math.max(1, Math.min(windowS, Math.ceil(remainingMs / 1000)));
    try {
      latest = await source.next(waitS);
      lostSince = null;
    } catch (err) {
      if (!(err instanceof ApiError) || !err.retryable || latest === undefined) throw err;
      if (lostSince === null) {
        lostSince = now();
        on.onLost(err);
      } else if (now() - lostSince > LOST_LIMIT_MS) {
        throw err;
      }
      await pause(Math.min(2000, deadline - now()));
      if (now() >= deadline) return latest;
      continue;
    }
    on.onChange(latest);
    if (isDone(target, latest.last) || now() >= deadline) return latest;
  }
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
    const by = "superseded_by" in result.last ? result.last.superseded_by : null;
    const outcome = `${result.status.replace("_", " ")}${by ? `, superseded by run ${by}` : ""}`;
    const headline = result.done
      ? `${what} ${outcome} (waited ${clock})`
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
