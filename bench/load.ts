/**
 * What every bench section shares: child processes that print their address when ready, a
 * keep-alive JSON client, closed-loop load, and medians of repetitions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { AGENT_KEY_HEADER } from "../api/schemas.js";

const ROOT = join(import.meta.dirname, "..");
const children = new Set<ChildProcess>();

/** Spawns `node args...` and resolves with the first match of `ready` on its stdout. */
export function spawnUntil(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    // Keep reading after the match: a child blocks once its stdout pipe is full.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = ready.exec(line);
      if (m) resolve({ child, match: m[1]! });
    });
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}`)));
  });
}

/**
 * `qgjob server` on a free loopback port, as users run it, without the per-caller rate limit:
 * the load comes from one address at far above a real fleet's rate, and is what is measured.
 */
export async function spawnServer(db: string, env: NodeJS.ProcessEnv = {}) {
  const { child, match } = await spawnUntil(
    ["--import", "tsx", "cli/main.ts", "server", "--port", "0", "--db", db],
    /"url":"([^"]+)"/,
    { QGJOB_LOG_LEVEL: "info", QGJOB_RATE_LIMIT_PER_S: "0", ...env },
  );
  return { child, api: `${match}/api/v1` };
}

export async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

export async function stopAll() {
  await Promise.all([...children].map(stop));
}

/** Resident memory of a process, from /proc (Linux); null elsewhere. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** The bench plays its agents: each sends the key its registration was given on its own calls. */
const agentKeys = new Map<string, string>();
const leaseAgents = new Map<string, string>();

function agentKeyHeader(url: string): Record<string, string> {
  const agent = /\/agents\/([^/?]+)/.exec(url)?.[1];
  const lease = /\/leases\/([^/?]+)/.exec(url)?.[1];
  const key = agentKeys.get(agent ?? leaseAgents.get(lease ?? "") ?? "");
  return key ? { [AGENT_KEY_HEADER]: key } : {};
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bench reads loosely-typed JSON
function remember(url: string, status: number, json: any) {
  if (status !== 200 || json === null || typeof json !== "object") return;
  if (/\/agents$/.test(url) && typeof json.key === "string") agentKeys.set(json.id, json.key);
  if (/\/agents\/[^/]+\/lease$/.test(url) && typeof json.agent_id === "string") {
    leaseAgents.set(json.id, json.agent_id);
  }
}

export function post(
  url: string,
  body: unknown,
  via: http.Agent = agent,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bench reads loosely-typed JSON
): Promise<{ status: number; json: any }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent: via,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          ...agentKeyHeader(url),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => {
          const json = text ? JSON.parse(text) : null;
          remember(url, res.statusCode ?? 0, json);
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Plays the agent for one granted lease: starts each job and reports it passed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bench reads loosely-typed JSON
export async function finishLease(api: string, lease: any): Promise<number> {
  let done = 0;
  for (const job of lease.jobs) {
    await post(`${api}/leases/${lease.id}/jobs/${job.id}/start`, { attempt: job.attempt });
    const r = await post(`${api}/leases/${lease.id}/jobs/${job.id}/result`, {
      attempt: job.attempt,
      status: "passed",
      duration_ms: 1000,
    });
    if (r.status === 200) done++;
  }
  return done;
}

export interface Sample {
  ops: number;
  seconds: number;
  latencies: number[];
}

/** Closed loop: `workers` callers, each issuing `op` back to back for `seconds`. */
export async function closedLoop(
  workers: number,
  seconds: number,
  op: (worker: number) => Promise<number>,
): Promise<Sample> {
  const latencies: number[] = [];
  let ops = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
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

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
