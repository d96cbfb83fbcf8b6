/**
 * The command runner: one shell command per test, from a template such as `npx jest {test}`.
 * Exit 0 passes; another exit fails; 126/127 (the command cannot run) is an infrastructure error.
 */
import { runProcess } from "../process.js";
import type { RunContext, Runner, RunnerJob, TestOutcome } from "./runner.js";

export interface CommandRunnerOptions {
  /** Placeholders: {test}, {build}, {app_version_id}, {attempt}; each is shell-quoted. */
  template: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onLine?: (line: string) => void;
}

/** POSIX single-quoting: the value reaches the command as one literal argument. */
export const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

export function renderCommand(template: string, values: Record<string, string>): string {
  return template.replace(/\{(test|build|app_version_id|attempt)\}/g, (_, key: string) =>
    shellQuote(values[key] ?? ""),
  );
}

const CANNOT_RUN = new Set([126, 127]);

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
      const outcome = await this.runOne(job, ctx, stop);
      if (outcome) await ctx.onOutcome(outcome);
    }
  }

  private async runOne(
    job: RunnerJob,
    ctx: RunContext,
    stop: AbortSignal,
  ): Promise<TestOutcome | null> {
    const command = renderCommand(this.opts.template, {
      test: job.testPath,
      build: ctx.build.buildPath ?? "",
      app_version_id: ctx.build.appVersionId,
      attempt: String(job.attempt),
    });
    this.stats.processes++;
    const result = await runProcess("/bin/sh", ["-c", command], {
      cwd: this.opts.cwd,
      env: {
        ...process.env,
        ...this.opts.env,
        QGJOB_TEST: job.testPath,
        QGJOB_ATTEMPT: String(job.attempt),
        QGJOB_APP_VERSION_ID: ctx.build.appVersionId,
        ...(ctx.build.buildPath === null ? {} : { QGJOB_BUILD_PATH: ctx.build.buildPath }),
      },
      timeoutMs: job.timeoutS * 1000,
      signal: stop,
      onLine: this.opts.onLine,
    });
    if (result.stopped) return null;
    const base = {
      jobId: job.id,
      durationMs: result.durationMs,
      logTail: result.tail,
      artifacts: [],
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
    const last = result.tail.trim().split("\n").pop() ?? "";
    return {
      ...base,
      status: "failed",
      message: `exit ${result.exitCode}${last ? `: ${last}` : ""}`,
    };
  }
}
