/**
 * What waiting polls cost a submission: the latency of submitting a 1-job run over HTTP with
 * no agent long-polling, then with `waiting` agents long-polling an empty queue, on each
 * engine (server in process). A submission wakes at most its job count of matching polls; the
 * woken agent finishes its job and polls again before the next submission, so every sample
 * sees the same number waiting. With none waiting, an agent takes each job at once, so both
 * cases submit to an empty queue. The server runs in a process of its own, as it does for real
 * submitters and agents: in this one, a reply would be read only after whatever the server does
 * next on the shared thread (on SQLite, the woken poll's claim).
 *
 *   npx tsx bench/waiting.ts [--waiting 200] [--samples 50]
 */
import http from "node:http";
import { parseArgs } from "node:util";
import { withServer } from "./dispatch.js";
import { finishLease, percentile, post } from "./load.js";
import type { Engine } from "./statements.js";

export interface WaitingRow {
  engine: Engine;
  waiting: number;
  p50Ms: number;
  p99Ms: number;
  /** p50 over the p50 with none waiting. */
  ratio: number;
}

// Long enough that a poll rarely times out mid-run, short enough that closing waits little.
const POLL_S = 10;

// Sockets of their own: waiting polls must not queue the submissions behind them.
const pollSockets = new http.Agent({ keepAlive: true });

// Closing the server resets the polls still waiting.
const ignoreReset = () => undefined;

/** Long polls for `agents`, answered one at a time as they return a lease. */
function pollers(api: string) {
  const granted: { agent: string; lease: unknown }[] = [];
  let wake: (() => void) | null = null;
  const poll = (agent: string): void => {
    void post(`${api}/agents/${agent}/lease`, { wait_s: POLL_S }, pollSockets).then((r) => {
      if (r.status !== 200) return poll(agent);
      granted.push({ agent, lease: r.json });
      wake?.();
    }, ignoreReset);
  };
  const next = async () => {
    while (granted.length === 0) await new Promise<void>((r) => (wake = r));
    return granted.shift()!;
  };
  return { poll, next };
}

async function submitLatencies(api: string, waiting: number, samples: number, i0: number) {
  const register = (name: string) =>
    post(`${api}/agents`, { name, target: "browserstack" }).then((r) => r.json.id as string);
  const agents = await Promise.all(
    Array.from({ length: Math.max(waiting, 1) }, (_, i) => register(`w${waiting}-${i}`)),
  );
  const { poll, next } = pollers(api);
  if (waiting > 0) for (const a of agents) poll(a);
  // Let every poll reach its wait before the first submission.
  await new Promise((r) => setTimeout(r, 500));
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await post(`${api}/runs`, {
      org_id: "org",
      app_version_id: `v${i0 + i}`,
      target: "browserstack",
      tests: ["tests/a.spec.js"],
    });
    latencies.push(performance.now() - t0);
    if (waiting > 0) {
      const { agent, lease } = await next();
      await finishLease(api, lease);
      poll(agent);
      await new Promise((r) => setTimeout(r, 20));
    } else {
      const lease = await post(`${api}/agents/${agents[0]}/lease`, { wait_s: 0 });
      await finishLease(api, lease.json);
    }
  }
  return latencies;
}

export async function waitingSection(opts: { waiting: number; samples: number }) {
  const rows: WaitingRow[] = [];
  for (const engine of ["sqlite", "postgres"] as const satisfies Engine[]) {
    await withServer(engine, async (api) => {
      let base = NaN;
      for (const waiting of [0, opts.waiting]) {
        const ms = await submitLatencies(api, waiting, opts.samples, waiting * opts.samples);
        const p50 = percentile(ms, 50);
        if (waiting === 0) base = p50;
        const round = (x: number) => Math.round(x * 10) / 10;
        rows.push({
          engine,
          waiting,
          p50Ms: round(p50),
          p99Ms: round(percentile(ms, 99)),
          ratio: Math.round((p50 / base) * 100) / 100,
        });
      }
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      waiting: { type: "string", default: "200" },
      samples: { type: "string", default: "50" },
    },
  });
  const rows = await waitingSection({
    waiting: Number(values.waiting),
    samples: Number(values.samples),
  });
  console.log(JSON.stringify(rows));
}
