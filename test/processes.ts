/**
 * qgjob's own processes for end-to-end tests: the server, agents and the CLI, each a real
 * `node .../cli/main.js ...` child of the tests' build (test/built.ts). Every child is killed when the test file's afterEach calls
 * killAll(), whatever the test did.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { CLI } from "./built.js";
import { until } from "./cancel-probe.js";
import type { Bodies, Client } from "./harness.js";

export { CLI };

/** `node` arguments that run a TypeScript file (a test's helper script) through tsx. */
export const TSX = ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href];

const children = new Set<ChildProcess>();
/** Children started as process group leaders: killed with their whole group. */
const leaders = new WeakSet<ChildProcess>();

export function killAll() {
  for (const child of children) {
    if (leaders.has(child) && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  }
  children.clear();
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Everything it printed so far, stdout then stderr interleaved as lines arrived. */
  output(): string;
}

export function spawnQgjob(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Spawned {
  return spawnProcess(process.execPath, [...CLI, ...args], {
    env: { ...process.env, ...env },
    cwd,
  });
}

/**
 * Any command, killed by killAll(). With `group`, it leads its own process group, so that
 * killAll() also reaches what it started (`npx qgjob` runs qgjob as a child of npm).
 */
export function spawnProcess(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; group?: boolean },
): Spawned {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: opts.group ?? false,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  if (opts.group) leaders.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, output: () => out };
}

/** Runs one CLI command to its end. */
export async function qgjob(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  const p = spawnQgjob(args, env, cwd);
  const code = await p.exited;
  return { code, output: p.output() };
}

/** Starts `qgjob server` on a free port and resolves once it listens. */
export function spawnServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Spawned & { url: string }> {
  return listening(
    spawnQgjob(["server", "--port", "0", ...args], { QGJOB_LOG_LEVEL: "info", ...env }),
  );
}

/** Resolves with the server's URL once its log says it listens; rejects if it exits first. */
export function listening(p: Spawned): Promise<Spawned & { url: string }> {
  return new Promise((resolve, reject) => {
    createInterface({ input: p.child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return; // npm's own notices, when started through npx
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "qgjob server listening") resolve({ ...p, url: entry.url! });
    });
    void p.exited.then((code) => reject(new Error(`server exited ${code}: ${p.output()}`)));
  });
}

/**
 * Resolves once the server has received `count` requests to `route` (its pattern, e.g.
 * `POST /api/v1/agents/:id/lease`), as its /metrics counts them on arrival: those requests are
 * then in flight there, which a signal sent next must find.
 */
export async function untilReceived(api: Client<Bodies>, route: string, count = 1) {
  const [method, pattern] = route.split(" ");
  const series = `qgjob_http_requests_total{method="${method}",route="${pattern}"} `;
  await until(async () => {
    const text = String((await api.get("/metrics")).body);
    const line = text.split("\n").find((l) => l.startsWith(series));
    return line !== undefined && Number(line.slice(series.length)) >= count;
  }, 30_000);
}
