/**
 * Runs one job of a workflow file the way the Actions runner does, for what this repository's
 * example workflow uses, so that a test can run the example as a user's runner would:
 *
 * - the job's and each step's `env:`, `${{ }}` expressions and `if:` conditions (a step without
 *   a status function in its `if:` runs only while every earlier step succeeded);
 * - `run:` steps with bash (`--noprofile --norc -eo pipefail`, the runner's default shell on
 *   Linux) in their `working-directory`, with GITHUB_OUTPUT and GITHUB_ENV files;
 * - `uses: ./` (this repository's Action) through the committed bundle (runner.ts), and its post
 *   step after the last step, with the state the main step saved;
 * - `actions/checkout` stands in as done (the workspace is the checkout), `actions/upload-artifact`
 *   checks that its path exists.
 *
 * Anything else (another action, an expression outside the small grammar below, a key the runner
 * would act on and this does not) throws: the test then says the workflow cannot be run
 * faithfully here, rather than passing over it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { parseOutputFile, runStep, type StepResult } from "./runner.js";

interface StepSpec {
  id?: string;
  name?: string;
  if?: string | boolean;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string | number | boolean>;
  "working-directory"?: string;
}

interface JobSpec {
  "runs-on": string;
  env?: Record<string, string | number | boolean>;
  steps: StepSpec[];
}

export interface StepRecord {
  id: string;
  name: string;
  outcome: "success" | "failure" | "skipped";
  outputs: Record<string, string>;
  /** What it printed (stdout, then stderr). */
  log: string;
  /** For `uses: ./`: the bundle's run, to inspect its outputs, errors and summary. */
  action?: StepResult;
}

export interface JobRun {
  conclusion: "success" | "failure";
  steps: StepRecord[];
  /** The Action's post steps, in the order they ran. */
  posts: StepResult[];
}

export interface JobOptions {
  file: string;
  job: string;
  workspace: string;
  secrets: Record<string, string>;
  /** The GITHUB_* context (GITHUB_SHA, GITHUB_REPOSITORY, …). */
  github: Record<string, string>;
  /** The Node the Action runs on (action.yml: node24). */
  node: string;
}

const ALLOWED_STEP_KEYS = new Set([
  "id",
  "name",
  "if",
  "uses",
  "run",
  "with",
  "env",
  "working-directory",
]);

export async function runJob(opts: JobOptions): Promise<JobRun> {
  const workflow = parse(readFileSync(opts.file, "utf8")) as { jobs: Record<string, JobSpec> };
  const job = workflow.jobs[opts.job];
  if (!job) throw new Error(`${opts.file} has no job ${opts.job}`);
  const steps: StepRecord[] = [];
  const posts: {
    state: Record<string, string>;
    inputs: Record<string, string>;
    env: Record<string, string>;
  }[] = [];
  const fileEnv: Record<string, string> = {};
  const ctx = (): Context => ({ opts, env: jobEnv, steps, fileEnv });
  const jobEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(job.env ?? {})) jobEnv[k] = interpolate(String(v), ctx());

  for (const [i, step] of job.steps.entries()) {
    for (const key of Object.keys(step)) {
      if (!ALLOWED_STEP_KEYS.has(key)) throw new Error(`step ${i}: ${key} is not supported here`);
    }
    const id = step.id ?? `__step${i}`;
    const name = step.name ?? step.uses ?? step.run?.split("\n")[0] ?? id;
    const env = { ...jobEnv, ...fileEnv };
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = interpolate(String(v), ctx());
    if (!condition(step.if, { ...ctx(), env })) {
      steps.push({ id, name, outcome: "skipped", outputs: {}, log: "" });
      continue;
    }
    const inputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.with ?? {}))
      inputs[k] = interpolate(String(v), { ...ctx(), env });
    if (step.run !== undefined) {
      steps.push({ id, name, ...runShell(step, env, opts, fileEnv) });
    } else if (step.uses === "./") {
      const res = await runStep({
        node: opts.node,
        workspace: opts.workspace,
        inputs,
        env: { ...opts.github, ...env },
      });
      steps.push({
        id,
        name,
        outcome: res.code === 0 ? "success" : "failure",
        outputs: res.outputs,
        log: res.stdout + res.stderr,
        action: res,
      });
      posts.unshift({ state: res.state, inputs, env });
    } else if (step.uses?.startsWith("actions/checkout@")) {
      steps.push({ id, name, outcome: "success", outputs: {}, log: "" });
    } else if (step.uses?.startsWith("actions/upload-artifact@")) {
      const path = inputs.path ?? "";
      const found = path !== "" && existsSync(isAbsolute(path) ? path : join(opts.workspace, path));
      steps.push({
        id,
        name,
        outcome: found ? "success" : "failure",
        outputs: {},
        log: `upload ${path}`,
      });
    } else {
      throw new Error(`step ${name}: uses ${step.uses} is not supported here`);
    }
  }
  const ran: StepResult[] = [];
  for (const post of posts) {
    ran.push(
      await runStep({
        node: opts.node,
        workspace: opts.workspace,
        inputs: post.inputs,
        env: { ...opts.github, ...post.env },
        state: post.state,
      }),
    );
  }
  const failed = steps.some((s) => s.outcome === "failure") || ran.some((r) => r.code !== 0);
  return { conclusion: failed ? "failure" : "success", steps, posts: ran };
}

function runShell(
  step: StepSpec,
  env: Record<string, string>,
  opts: JobOptions,
  fileEnv: Record<string, string>,
) {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-run-step-"));
  const script = join(dir, "step.sh");
  const outputFile = join(dir, "output");
  const envFile = join(dir, "env");
  writeFileSync(script, step.run!);
  writeFileSync(outputFile, "");
  writeFileSync(envFile, "");
  const cwd = step["working-directory"]
    ? join(opts.workspace, step["working-directory"])
    : opts.workspace;
  const res = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? dir,
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_WORKSPACE: opts.workspace,
      GITHUB_OUTPUT: outputFile,
      GITHUB_ENV: envFile,
      ...opts.github,
      ...env,
    },
  });
  Object.assign(fileEnv, parseEnvFile(readFileSync(envFile, "utf8")));
  return {
    outcome: res.status === 0 ? ("success" as const) : ("failure" as const),
    outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
    log: (res.stdout ?? "") + (res.stderr ?? ""),
  };
}

/** GITHUB_ENV: `NAME=value` lines and `NAME<<EOF` blocks. */
function parseEnvFile(text: string): Record<string, string> {
  const out = parseOutputFile(text);
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

interface Context {
  opts: JobOptions;
  env: Record<string, string>;
  steps: StepRecord[];
  fileEnv: Record<string, string>;
}

/** `${{ expr }}` replaced by the expression's value, as a string. */
function interpolate(text: string, ctx: Context): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, expr: string) => String(evaluate(expr, ctx)));
}

/** The step runs? `if:` as the runner reads it: success() is implied without a status function. */
function condition(text: string | boolean | undefined, ctx: Context): boolean {
  if (text === undefined) return !failedSoFar(ctx);
  const expr = String(text).replace(/^\s*\$\{\{(.*)\}\}\s*$/, "$1");
  const value = evaluate(expr, ctx);
  const statusChecked = /\b(always|success|failure|cancelled)\(\)/.test(expr);
  return statusChecked ? truthy(value) : !failedSoFar(ctx) && truthy(value);
}

const failedSoFar = (ctx: Context) => ctx.steps.some((s) => s.outcome === "failure");
const truthy = (v: unknown) => v !== "" && v !== false && v !== null && v !== 0;

type Value = string | boolean | null | number;

/**
 * The expression grammar the example needs: contexts (`secrets.X`, `env.X`, `github.sha`,
 * `steps.ID.outputs.NAME`, `steps.ID.outcome`), string literals, `==`, `!=`, `&&`, `||`, `!`,
 * parentheses, and the status functions. Comparisons of strings are case-insensitive, as GitHub's.
 */
function evaluate(expr: string, ctx: Context): Value {
  const tokens =
    expr.match(/'(?:[^']|'')*'|==|!=|&&|\|\||[!()]|[A-Za-z_][\w.-]*\(\)|[A-Za-z_][\w.-]*|\S/g) ??
    [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++]!;
  const or = (): Value => {
    let left = and();
    while (peek() === "||") {
      next();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = compare();
    while (peek() === "&&") {
      next();
      const right = compare();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const compare = (): Value => {
    const left = unary();
    if (peek() === "==" || peek() === "!=") {
      const op = next();
      const right = unary();
      const same = String(left ?? "").toLowerCase() === String(right ?? "").toLowerCase();
      return op === "==" ? same : !same;
    }
    return left;
  };
  const unary = (): Value => {
    if (peek() === "!") {
      next();
      return !truthy(unary());
    }
    if (peek() === "(") {
      next();
      const v = or();
      if (next() !== ")") throw new Error(`expression ${expr}: ) expected`);
      return v;
    }
    return atom(next());
  };
  const atom = (t: string): Value => {
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === "always()") return true;
    if (t === "success()") return !failedSoFar(ctx);
    if (t === "failure()") return failedSoFar(ctx);
    if (t === "cancelled()") return false;
    if (t === "true" || t === "false") return t === "true";
    const [head, ...rest] = t.split(".");
    if (head === "secrets") return ctx.opts.secrets[rest.join(".")] ?? "";
    if (head === "env") return ctx.env[rest.join(".")] ?? ctx.fileEnv[rest.join(".")] ?? "";
    if (head === "github" && rest.length === 1) {
      const key = `GITHUB_${rest[0]!.toUpperCase()}`;
      if (key in ctx.opts.github) return ctx.opts.github[key]!;
    }
    if (head === "steps" && rest.length >= 2) {
      const step = ctx.steps.find((s) => s.id === rest[0]);
      if (rest[1] === "outputs" && rest.length === 3) return step?.outputs[rest[2]!] ?? "";
      if (rest[1] === "outcome" || rest[1] === "conclusion") return step?.outcome ?? "";
    }
    throw new Error(`expression ${expr}: ${t} is not supported here`);
  };
  const value = or();
  if (pos !== tokens.length) throw new Error(`expression ${expr}: unexpected ${peek()}`);
  return value;
}
