/**
 * Live runs (issue 17): what a cancel and a watcher cost, on a `qgjob server` (SQLite) with a
 * real `qgjob agent` running `sh {test}`.
 *
 * - Cancel latency: `cancels` times, a test that traps TERM (test/cancel-probe.ts, shared with
 *   test/e2e/cancel.test.ts) is cancelled while it runs, timed from the cancel request to no
 *   process of the test being left. The agent hears it on its lease's push channel. The
 *   heartbeat-only path it replaced is not re-run (no agent option turns the channel off, and 50
 *   cancels at up to TTL/3 = 40 s each take half an hour): its numbers are issue 17's.
 * - Watcher cost: a run of 1-second tests is followed for `watchS` seconds by the CLI's own
 *   follow() (what `qgjob wait` and `submit --wait` run, with progress), once on the run's
 *   event stream and once on the long-poll fallback it takes when the server has no stream.
 *   Requests are counted at the server (`qgjob_http_requests_total` on /metrics, run routes
 *   only, so the agent's own calls are left out). The first request is the fixed cost; the rest
 *   are scaled from `watchS` to 10 minutes.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError, QgjobClient } from "../api/client.js";
import { follow } from "../cli/follow.js";
import { timeCancel } from "../test/cancel-probe.js";
import { client, tempDir, type Client } from "../test/harness.js";
import { percentile, spawnServer, stop } from "./load.js";

export interface LiveReport {
  cancel: { cancels: number; p50Ms: number; p99Ms: number; maxMs: number };
  watch: WatchRow[];
}

export interface WatchRow {
  via: "event stream" | "polling the wait endpoint";
  watchedS: number;
  requests: number;
  /** 1 + (requests - 1) scaled from watchedS to 600 s. */
  per10Min: number;
}

const TEN_MINUTES_S = 600;
const CANCEL_BOUND_MS = 60_000;

export async function liveSection(opts: { cancels: number; watchS: number }): Promise<LiveReport> {
  const dir = tempDir("qgjob-bench-live-");
  mkdirSync(join(dir, "tests"));
  const server = await spawnServer(join(dir, "qgjob.db"));
  const url = server.api.replace(/\/api\/v1$/, "");
  // Its logs go to stderr: nothing on stdout tells when it is ready, and timeCancel waits anyway.
  const agent = spawn(
    process.execPath,
    [
      ...["--import", "tsx", "cli/main.ts", "agent", "--url", url, "--name", "bench-live"],
      ...["--lease-wait", "2s", "--target", "device", "--runner", "command"],
      ...["--command", "sh {test}", "--project-dir", dir],
    ],
    {
      cwd: join(import.meta.dirname, ".."),
      env: { ...process.env, QGJOB_LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  try {
    const api = client(url);
    const times: number[] = [];
    for (let i = 0; i < opts.cancels; i++) {
      const t = await timeCancel(
        dir,
        api,
        api,
        `qgjob-bench-live-${process.pid}-${i}`,
        CANCEL_BOUND_MS,
      );
      if (t.cancelStatus !== 200 || t.jobStatus !== "cancelled") {
        throw new Error(`cancel ${i}: ${t.cancelStatus}, job ${t.jobStatus}`);
      }
      times.push(t.ms);
    }
    const watch = [
      await watchRun(url, api, dir, "event stream", opts.watchS),
      await watchRun(url, api, dir, "polling the wait endpoint", opts.watchS),
    ];
    return {
      cancel: {
        cancels: opts.cancels,
        p50Ms: Math.round(percentile(times, 50)),
        p99Ms: Math.round(percentile(times, 99)),
        maxMs: Math.round(Math.max(...times)),
      },
      watch,
    };
  } finally {
    await stop(server.child);
    await stop(agent);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Requests to the run routes (GET /api/v1/runs/...) the server has counted so far. */
async function runRequests(api: Client): Promise<number> {
  const metrics = await api.get("/metrics");
  if (metrics.status !== 200) throw new Error(`/metrics answered ${metrics.status}`);
  const text = metrics.body;
  let n = 0;
  for (const m of text.matchAll(/^qgjob_http_requests_total\{([^}]*)\} (\d+)/gm)) {
    if (/method="GET"/.test(m[1]!) && /route="\/api\/v1\/runs\//.test(m[1]!)) n += Number(m[2]);
  }
  return n;
}

async function watchRun(
  url: string,
  api: Client,
  dir: string,
  via: WatchRow["via"],
  watchS: number,
): Promise<WatchRow> {
  const tests = Array.from({ length: Math.ceil(watchS) + 5 }, (_, i) => {
    const path = `tests/tick-${i}.sh`;
    writeFileSync(join(dir, path), "sleep 1\n");
    return path;
  });
  const run = await api.post("/api/v1/runs", {
    org_id: "acme",
    app_version_id: "v1",
    target: "device",
    tests,
  });
  if (run.status !== 201) throw new Error(`submit: ${run.status}`);
  const real = new QgjobClient({ baseUrl: url });
  // The fallback as an older server (or a proxy that drops event streams) makes the CLI take it.
  const watcher =
    via === "event stream"
      ? real
      : Object.assign(Object.create(real) as QgjobClient, {
          runEvents: async () => {
            throw new ApiError(
              "http",
              "GET",
              `${url}/api/v1/runs/${run.body.id}/events`,
              404,
              "not_found",
              "no event stream",
            );
          },
        });
  const before = await runRequests(api);
  const result = await follow(
    watcher,
    { kind: "run", id: run.body.id },
    {
      timeoutMs: watchS * 1000,
      progress: true,
      tty: false,
      write: () => undefined,
    },
  );
  const requests = (await runRequests(api)) - before;
  await api.post(`/api/v1/runs/${run.body.id}/cancel`);
  const watchedS = result.elapsedMs / 1000;
  return {
    via,
    watchedS: +watchedS.toFixed(1),
    requests,
    per10Min: Math.round(1 + ((requests - 1) * TEN_MINUTES_S) / watchedS),
  };
}
