/**
 * The command runner: one shell command per test, from a template such as `npx jest {test}`.
 * Exit 0 passes; another exit fails; 126/127 (the command cannot run) is an infrastructure error.
 *
 * Evidence: each attempt gets its own temporary folder; the test's full output (capped, head
 * and tail kept) goes to its output.log, and the files the test writes to `QGJOB_ARTIFACTS_DIR`
 * become the attempt's artifacts. The folder is removed once the agent has taken the outcome
 * (it moves the files into its spool before posting).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { listArtifactFiles } from "../evidence/files.js";
import { OutputLog } from "../evidence/output-log.js";
import { runProcess, type ProcessResult } from "../process.js";
import type { RunContext, Runner, RunnerJob, TestOutcome } from "./runner.js";

export interface CommandRunnerOptions {
  /** Placeholders: {test}, {build}, {app_version_id}, {attempt}; each is shell-quoted. */
  template: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onLine?: (line: string) => void;
  /** Bytes of a test's output kept in its log (head and tail). */
  outputCapBytes?: number;
}

/** POSIX single-quoting: the value reaches the command as one literal argument. */
export const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

export function renderCommand(template: string, values: Record<string, string>): string {
  return template.replace(/\{(test|build|app_version_id|attempt)\}/g, (_, key: string) =>
    shellQuote(values[key] ?? ""),
  );
}

const CANNOT_RUN = new Set([126, 127]);

type Sink = { write(chunk: Buffer): void };
const tee = (log: Sink, live: Sink | undefined): Sink =>
  live ? { write: (chunk) => (log.write(chunk), live.write(chunk)) } : log;

export class CommandRunner implements Runner {
  readonly name = "command";
  readonly stats = { processes: 0 };

  constructor(private readonly opts: CommandRunnerOptions) {}

  async run(jobs: RunnerJob[], ctx: RunContext): Promise<void> {
    for (const job of jobs) {
      const stop = ctx.stopped(job.id);
      if (stop.aborted) continue;
      await ctx.onStart(job.id);
      if (stop.aborted) continue;
      const dir = await mkdtemp(path.join(tmpdir(), "qgjob-command-"));
      try {
        const outcome = await this.runOne(job, ctx, stop, dir);
        if (outcome) await ctx.onOutcome(outcome);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  private async runOne(
    job: RunnerJob,
    ctx: RunContext,
    stop: AbortSignal,
    dir: string,
  ): Promise<TestOutcome | null> {
    const artifactsDir = path.join(dir, "artifacts");
    await mkdir(artifactsDir);
    const output = new OutputLog(path.join(dir, "output.log"), this.opts.outputCapBytes);
    const command = renderCommand(this.opts.template, {
      test: job.testPath,
      build: ctx.build.buildPath ?? "",
      app_version_id: ctx.build.appVersionId,
      attempt: String(job.attempt),
    });
    this.stats.processes++;
    const result = await runProcess("/bin/sh", ["-c", command], {
      cwd: ctx.projectDir ?? this.opts.cwd,
      env: {
        ...process.env,
        ...this.opts.env,
        QGJOB_TEST: job.testPath,
        QGJOB_ATTEMPT: String(job.attempt),
        QGJOB_APP_VERSION_ID: ctx.build.appVersionId,
        QGJOB_ARTIFACTS_DIR: artifactsDir,
        ...(ctx.build.buildPath === null ? {} : { QGJOB_BUILD_PATH: ctx.build.buildPath }),
      },
      timeoutMs: job.timeoutS * 1000,
      signal: stop,
      onLine: this.opts.onLine,
      output: tee(output, ctx.output?.(job.id)),
    });
    const logFile = await output.close().then(
      () => output.path,
      () => undefined, // no log (disk full): the result still goes out
    );
    if (result.stopped) return null;
    const base = {
      jobId: job.id,
      durationMs: result.durationMs,
      logTail: result.tail,
      artifacts: await listArtifactFiles(artifactsDir),
      ...(logFile ? { logFile } : {}),
    };
    if (result.timedOut) {
      return { ...base, status: "timed_out", message: `timed out after ${job.timeoutS} s` };
    }
    if (result.exitCode === 0) return { ...base, status: "passed" };
    if (result.exitCode === null || CANNOT_RUN.has(result.exitCode)) {
      const how =
        result.exitCode === null ? `signal ${result.signal ?? "?"}` : `exit ${result.exitCode}`;
      return {
        ...base,
        status: "error",
        message: `the test command could not run (${how}): ${command}`,
      };
    }
    return { ...base, status: "failed", message: failureMessage(result) };
  }
}

/**
 * A failed command's message: "exit N: <last line>", then the end of what it printed to
 * stderr (or to stdout when stderr is empty), where test tools put the assertion and its diff.
 */
export function failureMessage(result: ProcessResult): string {
  const detail = (result.errTail.trim() ? result.errTail : result.tail).trimEnd();
  const last = detail.trim().split("\n").pop()?.trim() ?? "";
  const head = `exit ${result.exitCode}${last ? `: ${last}` : ""}`;
  return detail.includes("\n") ? `${head}\n\n${detail}` : head;
}
