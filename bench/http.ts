/**
 * Section 2, API throughput over HTTP on loopback. The server runs as its own process, as
 * `qgjob server` runs; this process generates the load. A bare node:http server answering a
 * fixed body is the baseline, measured in the same run, so ratios survive a noisy machine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  closedLoop,
  finishLease,
  median,
  percentile,
  post,
  spawnServer,
  spawnUntil,
  stop,
  type Sample,
} from "./load.js";

const CONCURRENCY = 16;
const AGENTS = 16;

export interface HttpRow {
  workload: string;
  unit: string;
  perSecond: number;
  /** Requests per second over the bare server's (requests per second). */
  vsBare: number | null;
  p50Ms: number;
  p99Ms: number;
}

const BARE = `
  const http = require("node:http");
  const body = JSON.stringify({ id: "job_01", status: "queued" });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(201, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, "127.0.0.1", () => console.log("url=http://127.0.0.1:" + server.address().port));
`;

interface Measured {
  workload: string;
  unit: string;
  /** Operations (jobs, cycles) per request, to turn ops/s into requests/s. */
  requestsPerOp: number;
  samples: Sample[];
}

async function repeat(reps: number, run: () => Promise<Sample>): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < reps; i++) samples.push(await run());
  return samples;
}

export async function apiThroughput(seconds: number, reps: number): Promise<HttpRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-bench-"));
  const bare = await spawnUntil(["-e", BARE], /^url=(.*)$/);
  const qg = await spawnServer(join(dir, "bench.db"));
  try {
    const api = qg.api;
    let seq = 0;
    const tests = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => `tests/${tag}/${i}.spec.js`);
    const loop = (op: (w: number) => Promise<number>, workers = CONCURRENCY) =>
      repeat(reps, () => closedLoop(workers, seconds, op));
    const measured: Measured[] = [];

    measured.push({
      workload: "baseline: bare node:http, fixed body",
      unit: "requests/s",
      requestsPerOp: 1,
      samples: await loop(async () => ((await post(bare.match, { x: 1 })).status === 201 ? 1 : 0)),
    });
    measured.push({
      workload: "submit 1 test per request",
      unit: "jobs/s",
      requestsPerOp: 1,
      samples: await loop(async () => {
        const r = await post(`${api}/jobs`, {
          org_id: "bench",
          app_version_id: "v1",
          test_path: `t/${seq++}.spec.js`,
        });
        return r.status === 201 ? 1 : 0;
      }),
    });
    measured.push({
      workload: "submit 100 tests per request",
      unit: "jobs/s",
      requestsPerOp: 1 / 100,
      samples: await loop(async () => {
        const r = await post(`${api}/runs`, {
          org_id: "bench",
          app_version_id: "v2",
          tests: tests(100, `r${seq++}`),
        });
        return r.status === 201 ? 100 : 0;
      }),
    });

    // Lease+start+result cycles: one job per lease (each job its own app version, so batches
    // are 1), 16 agents each looping lease -> start -> result against a deep queue.
    const agents: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      agents.push(
        (await post(`${api}/agents`, { name: `bench-${i}`, target: "browserstack" })).json.id,
      );
    }
    const submitOne = (org: string) =>
      post(`${api}/runs`, {
        org_id: org,
        app_version_id: `cyc-${seq++}`,
        target: "browserstack",
        tests: ["tests/a.spec.js"],
      });
    const leaseLatency: number[] = [];
    measured.push({
      workload: "lease+start+result cycles, 16 agents",
      unit: "cycles/s",
      requestsPerOp: 3,
      samples: await repeat(reps, async () => {
        for (let i = 0; i < 60; i++) await submitOne(`org${i % 3}`);
        return closedLoop(AGENTS, seconds, async (w) => {
          const s = performance.now();
          const lease = await post(`${api}/agents/${agents[w]}/lease`, { wait_s: 0 });
          leaseLatency.push(performance.now() - s);
          if (lease.status !== 200) {
            await submitOne("refill");
            return 0;
          }
          return finishLease(api, lease.json);
        });
      }),
    });

    const bareRate = median(measured[0]!.samples.map((s) => s.ops / s.seconds));
    const rows = measured.map((m): HttpRow => {
      const perSecond = median(m.samples.map((s) => s.ops / s.seconds));
      const latencies = m.samples.flatMap((s) => s.latencies);
      return {
        workload: m.workload,
        unit: m.unit,
        perSecond: Math.round(perSecond),
        vsBare: +((perSecond * m.requestsPerOp) / bareRate).toFixed(2),
        p50Ms: +percentile(latencies, 50).toFixed(2),
        p99Ms: +percentile(latencies, 99).toFixed(2),
      };
    });
    rows.push({
      workload: "lease request alone, in the cycles above",
      unit: "",
      perSecond: NaN,
      vsBare: null,
      p50Ms: +percentile(leaseLatency, 50).toFixed(2),
      p99Ms: +percentile(leaseLatency, 99).toFixed(2),
    });
    return rows;
  } finally {
    await stop(bare.child);
    await stop(qg.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
