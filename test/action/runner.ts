/**
 * Running the committed Action bundle the way a GitHub runner does: `node dist/action/index.js`
 * with the inputs as `INPUT_<NAME>` variables (upper-cased, dashes kept, action.yml's defaults
 * filled in), `GITHUB_OUTPUT`, `GITHUB_STATE` and `GITHUB_STEP_SUMMARY` files, the `GITHUB_*`
 * context, the workspace as the working directory, and nothing else from the test's environment.
 * The post step (`runs.post`) runs the same way, with the main step's saved state as `STATE_*`.
 *
 * Also finds a Node 24 binary, since action.yml says `runs.using: node24`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readActionYml } from "../../action/testing.js";

export const BUNDLE = join(import.meta.dirname, "../../dist/action/index.js");

/**
 * A Node 24 binary: QGJOB_NODE24 if set, this Node if it is 24, else the one the `node` package
 * of the npm registry ships (`npx --package node@24`, cached by npm after the first time). It
 * is not a devDependency on purpose: installing `node` into node_modules puts it on the PATH of
 * every npm script, so the whole project (tsc, vitest, the CLI) would run on Node 24 instead of
 * the Node CI sets up. Throws with a clear message when none can be had: never skipped.
 */
export function node24(): string {
  const check = (bin: string, how: string) => {
    const v = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (v.status !== 0 || !v.stdout.startsWith("v24.")) {
      throw new Error(`Node 24 from ${how} (${bin}) answers ${v.stdout || v.stderr || v.error}`);
    }
    return bin;
  };
  if (process.env.QGJOB_NODE24) return check(process.env.QGJOB_NODE24, "QGJOB_NODE24");
  if (process.versions.node.startsWith("24.")) return process.execPath;
  const npx = spawnSync(
    "npx",
    ["--yes", "--prefer-offline", "--package", "node@24", "--", "node", "-p", "process.execPath"],
    { encoding: "utf8", cwd: tmpdir(), timeout: 240_000 },
  );
  const bin = npx.stdout?.trim().split("\n").pop() ?? "";
  if (npx.status !== 0 || !bin || !existsSync(bin)) {
    throw new Error(
      "The Action runs on Node 24 (action.yml: runs.using node24) and this test runs its bundle " +
        "there, but Node 24 could not be obtained with `npx --package node@24` " +
        `(exit ${npx.status}: ${(npx.stderr || String(npx.error ?? "")).trim().slice(-500)}). ` +
        "Allow npm registry access, or set QGJOB_NODE24 to a Node 24 binary.",
    );
  }
  return check(bin, "npx --package node@24");
}

export interface StepOptions {
  node: string;
  workspace: string;
  inputs: Record<string, string>;
  /** GITHUB_* context and anything else; replaces the defaults below. */
  env?: Record<string, string>;
  /** The main step's saved state, for its post step (as `STATE_<name>`). */
  state?: Record<string, string>;
}

export interface StepResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** What the step saved for its post step (core.saveState). */
  state: Record<string, string>;
  summary: string;
  /** stdout without ::debug:: lines. */
  lines: string[];
  /** The `::error ...::message` lines. */
  errors: string[];
}

export interface Step {
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  done: Promise<StepResult>;
}

/** The INPUT_* variables a runner sets: those given, and action.yml's defaults for the rest. */
export function inputEnv(inputs: Record<string, string>, sha: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(readActionYml().inputs)) {
    const value = inputs[name] ?? spec.default?.replace("${{ github.sha }}", sha);
    if (value !== undefined) env[`INPUT_${name.toUpperCase()}`] = value;
  }
  for (const name of Object.keys(inputs)) {
    if (!(name in readActionYml().inputs)) throw new Error(`action.yml has no input ${name}`);
  }
  return env;
}

/** `name<<delimiter\nvalue\ndelimiter` blocks, as core.setOutput and core.saveState write them. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2\n/gm;
  for (const [, name, , value] of text.matchAll(re)) out[name!] = value!;
  return out;
}

const steps = new Set<ChildProcess>();

export function startStep(opts: StepOptions): Step {
  const files = mkdtempSync(join(tmpdir(), "qgjob-runner-"));
  const outputFile = join(files, "output");
  const summaryFile = join(files, "step_summary");
  const stateFile = join(files, "state");
  for (const file of [outputFile, summaryFile, stateFile]) writeFileSync(file, "");
  const sha = opts.env?.GITHUB_SHA ?? "0123456789abcdef0123456789abcdef01234567";
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? files,
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_REPOSITORY: "qualgent/demo",
    GITHUB_SHA: sha,
    GITHUB_REF: "refs/heads/main",
    GITHUB_RUN_ID: "1",
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_JOB: "appwright",
    GITHUB_ACTION: "__qualgent_qgjob-action",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_STATE: stateFile,
    RUNNER_TEMP: files,
    ...Object.fromEntries(Object.entries(opts.state ?? {}).map(([k, v]) => [`STATE_${k}`, v])),
    ...opts.env,
    ...inputEnv(opts.inputs, sha),
  };
  const child = spawn(opts.node, [BUNDLE], {
    cwd: opts.workspace,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  steps.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<StepResult>((resolve) =>
    // "close": the process ended and its output is all read.
    child.on("close", (code, signal) => {
      steps.delete(child);
      const lines = stdout.split("\n").filter((l) => l && !l.startsWith("::debug::"));
      resolve({
        code,
        signal,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
        state: parseOutputFile(readFileSync(stateFile, "utf8")),
        summary: readFileSync(summaryFile, "utf8"),
        lines,
        errors: lines.filter((l) => l.startsWith("::error")),
      });
    }),
  );
  return { child, stdout: () => stdout, done };
}

export const runStep = (opts: StepOptions) => startStep(opts).done;

/** Kills the steps still running (a failed test's leftovers). */
export function killSteps() {
  for (const child of steps) child.kill("SIGKILL");
  steps.clear();
}
