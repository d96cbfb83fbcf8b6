/**
 * `qgjob …` as a child process with its stdout and stderr apart, for the CLI tests that read
 * them separately. Spawned (never spawnSync): the test server runs in the test's own process.
 */
import { spawn } from "node:child_process";
import { CLI } from "../built.js";

export { CLI };

export interface CliOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): Promise<CliOutput> {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd,
    env: { ...process.env, QGJOB_TOKEN: "", NO_COLOR: "", FORCE_COLOR: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
