/**
 * qgjob's own processes for end-to-end tests: the server, agents and the CLI, each a real
 * `node cli/main.ts ...` child. Every child is killed when the test file's afterEach calls
 * killAll(), whatever the test did.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const CLI = ["--import", "tsx", join(import.meta.dirname, "../cli/main.ts")];

const children = new Set<ChildProcess>();

export function killAll() {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Everything it printed so far, stdout then stderr interleaved as lines arrived. */
  output(): string;
}

export function spawnQgjob(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Spawned {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
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
  const p = spawnQgjob(["server", "--port", "0", ...args], { QGJOB_LOG_LEVEL: "info", ...env });
  return new Promise((resolve, reject) => {
    createInterface({ input: p.child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "qgjob server listening") resolve({ ...p, url: entry.url! });
    });
    void p.exited.then((code) => reject(new Error(`server exited ${code}: ${p.output()}`)));
  });
}
