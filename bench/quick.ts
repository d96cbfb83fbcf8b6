/**
 * A quick throughput check of the core service (the full benchmark is its own piece of work).
 * The server runs as its own process on loopback, exactly as `qgjob server` runs; this process
 * generates the load. A bare node:http server answering a fixed body is the baseline measured
 * in the same run, so ratios survive a noisy machine. Each workload runs REPS times; medians.
 *
 *   npm run bench            # defaults
 *   BENCH_SECONDS=5 npm run bench
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CONCURRENCY = 16;
const AGENTS = 16;

interface Sample {
  ops: number;
  seconds: number;
  latencies: number[];
}

const children: ChildProcess[] = [];

function spawnUntil(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = ready.exec(line);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}`)));
  });
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

// Keep-alive node:http: undici's fetch costs the load generator about 3x more CPU per request.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bench reads loosely-typed JSON
function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null }),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Closed loop: `workers` callers, each issuing `op` back to back for SECONDS. */
async function closedLoop(
  workers: number,
  op: (worker: number) => Promise<number>,
): Promise<Sample> {
  const latencies: number[] = [];
  let ops = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < until) {
        const s = performance.now();
        // Not `ops += await op(w)`: that reads `ops` before the await and loses other workers' counts.
        const done = await op(w);
        ops += done;
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { ops, seconds: (performance.now() - t0) / 1000, latencies };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function repeat(name: string, run: () => Promise<Sample>) {
  const samples: Sample[] = [];
  for (let i = 0; i < REPS; i++) samples.push(await run());
  const rates = samples.map((s) => s.ops / s.seconds);
  const all = samples.flatMap((s) => s.latencies);
  const row = {
    workload: name,
    per_second: Math.round(median(rates)),
    p50_ms: +pct(all, 50).toFixed(2),
    p99_ms: +pct(all, 99).toFixed(2),
    reps: REPS,
  };
  console.log(JSON.stringify(row));
  return row;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-bench-"));
  try {
    const bare = await spawnUntil(["-e", BARE], /^url=(.*)$/);
    const qg = await spawnUntil(
      ["--import", "tsx", "cli/main.ts", "server", "--port", "0", "--db", join(dir, "bench.db")],
      /"url":"([^"]+)"/,
      { QGJOB_LOG_LEVEL: "info" },
    );
    const api = `${qg}/api/v1`;
    const tests = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => `tests/${tag}/${i}.spec.js`);
    let seq = 0;

    const rows = [];
    rows.push(
      await repeat("baseline: bare node:http, fixed body (requests/s)", () =>
        closedLoop(CONCURRENCY, async () => ((await post(bare, { x: 1 })).status === 201 ? 1 : 0)),
      ),
    );
    rows.push(
      await repeat("submit 1 test per request (jobs/s)", () =>
        closedLoop(CONCURRENCY, async () => {
          const r = await post(`${api}/jobs`, {
            org_id: "bench",
            app_version_id: "v1",
            test_path: `t/${seq++}.spec.js`,
          });
          return r.status === 201 ? 1 : 0;
        }),
      ),
    );
    rows.push(
      await repeat("submit 100 tests per request (jobs/s)", () =>
        closedLoop(CONCURRENCY, async () => {
          const r = await post(`${api}/runs`, {
            org_id: "bench",
            app_version_id: "v2",
            tests: tests(100, `r${seq++}`),
          });
          return r.status === 201 ? 100 : 0;
        }),
      ),
    );

    // Lease+result cycles: one job per lease (each job its own app version, so batches are 1),
    // 16 agents each looping lease -> start -> result against a deep queue.
    const agents: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      agents.push(
        (await post(`${api}/agents`, { name: `bench-${i}`, target: "browserstack" })).json.id,
      );
    }
    const leaseLatency: number[] = [];
    rows.push(
      await repeat("lease+start+result cycles, 16 agents (cycles/s)", async () => {
        for (let i = 0; i < 60; i++) {
          await post(`${api}/runs`, {
            org_id: `org${i % 3}`,
            app_version_id: `cyc-${seq++}`,
            target: "browserstack",
            tests: ["tests/a.spec.js"],
          });
        }
        return closedLoop(AGENTS, async (w) => {
          const s = performance.now();
          const lease = await post(`${api}/agents/${agents[w]}/lease`, {});
          leaseLatency.push(performance.now() - s);
          if (lease.status !== 200) {
            await post(`${api}/runs`, {
              org_id: "refill",
              app_version_id: `cyc-${seq++}`,
              target: "browserstack",
              tests: ["tests/a.spec.js"],
            });
            return 0;
          }
          let done = 0;
          for (const job of lease.json.jobs) {
            await post(`${api}/leases/${lease.json.id}/jobs/${job.id}/start`, {
              attempt: job.attempt,
            });
            const r = await post(`${api}/leases/${lease.json.id}/jobs/${job.id}/result`, {
              attempt: job.attempt,
              status: "passed",
              duration_ms: 1000,
            });
            if (r.status === 200) done++;
          }
          return done;
        });
      }),
    );
    const lease = {
      p50_ms: +pct(leaseLatency, 50).toFixed(2),
      p99_ms: +pct(leaseLatency, 99).toFixed(2),
    };
    console.log(JSON.stringify({ lease_request_latency: lease }));

    const baseline = rows[0]!.per_second;
    console.log(
      "\n| workload | per second | vs bare node:http | p50 ms | p99 ms |\n|---|---|---|---|---|",
    );
    for (const r of rows) {
      console.log(
        `| ${r.workload} | ${r.per_second} | ${(r.per_second / baseline).toFixed(2)}x | ${r.p50_ms} | ${r.p99_ms} |`,
      );
    }
    writeFileSync(
      join(import.meta.dirname, "results.json"),
      JSON.stringify(
        { when: new Date().toISOString(), seconds: SECONDS, reps: REPS, rows, lease },
        null,
        2,
      ),
    );
  } finally {
    for (const c of children) c.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
