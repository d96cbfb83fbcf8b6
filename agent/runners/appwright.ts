/**
 * The AppWright runner: runs a lease's test files with AppWright (Playwright underneath) and
 * reports one outcome per job.
 *
 * Batching: one Playwright invocation for the whole batch (one AppWright global setup, one
 * BrowserStack upload), `--workers 1 --retries 0`. Jobs split into several invocations only
 * when they must: jobs of different attempts (QGJOB_ATTEMPT is one value per invocation) and
 * the same file twice (Playwright runs a file once per invocation). Playwright runs the files
 * in path order, not in the order given (the scheduler's longest-first order is lost within an
 * invocation; with one worker the total time is the same).
 *
 * It calls Playwright's CLI directly (`node <project>/node_modules/@playwright/test/cli.js test
 * --config appwright.config.ts`), which is what `appwright test` does, minus its wrapper: the
 * wrapper re-splits its arguments on spaces (paths with spaces break) and hides the exit
 * reason. AppWright's global setup only needs `--project NAME` as two arguments in argv.
 *
 * Streaming: a small reporter (./appwright/stream-reporter) appends a line when a file begins
 * and when all its tests are done; the runner polls that file, calls onStart when a job's file
 * begins and onOutcome as soon as it ends. The JSON report, read when the invocation exits,
 * settles every job the stream did not (and is the only source if the stream is missing).
 *
 * Stopping: when a job's stop signal fires while its file runs, the invocation's process group
 * is killed (runProcess), nothing is reported for that job, and the batch's other unfinished,
 * unstopped jobs run in a new invocation. A stopped job that has not begun yet is killed
 * the moment its file begins (or simply dropped if the invocation ends first). A job that runs
 * past its own timeoutS (Playwright's --timeout is per test and one value for the batch) is
 * reported timed_out and handled the same way.
 */
import { existsSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runProcess } from "../process.js";
import {
  errorOutcome,
  fileKey,
  outcomeFromTests,
  parseAppwrightReport,
  type FlatTest,
  type PlaywrightJsonReport,
} from "./appwright-report.js";
import { OutputLog } from "../evidence/output-log.js";
import { logFileFor, type StreamEvent } from "./appwright/stream-reporter.js";
import type { RunContext, Runner, RunnerJob, TestOutcome } from "./runner.js";

export interface AppwrightRunnerOptions {
  /** The AppWright project: where appwright.config.ts and node_modules are. */
  projectDir: string;
  /** The config's project to run (`--project`), e.g. android-emu or browserstack. */
  project: string;
  /** Appended to Playwright's arguments (they come last, so they win over the runner's). */
  extraArgs?: string[];
  /** Added to the agent's environment for the invocation. */
  env?: NodeJS.ProcessEnv;
  /** Every output line of the invocation (the agent's log). */
  onLine?: (line: string) => void;
  /** Config file, relative to projectDir. Default appwright.config.ts. */
  configFile?: string;
}

/** Playwright's global timeout: the batch's timeouts plus this, for setup and teardown. */
const GLOBAL_SLACK_MS = 120_000;
/** The hard kill after Playwright's own global timeout failed to end the run. */
const HARD_KILL_SLACK_MS = 60_000;
/** A job's file may run this much past its timeoutS before the runner kills it. */
const JOB_TIMEOUT_GRACE_MS = 5_000;
const POLL_MS = 100;
const TAIL_LINES = 60;

/** Splits a batch into invocations: one attempt number each, each file at most once. */
export function planInvocations(jobs: RunnerJob[], projectDir = "."): RunnerJob[][] {
  const groups: { attempt: number; files: Set<string>; jobs: RunnerJob[] }[] = [];
  for (const job of jobs) {
    const key = fileKey(projectDir, job.testPath);
    let group = groups.find((g) => g.attempt === job.attempt && !g.files.has(key));
    if (!group) {
      group = { attempt: job.attempt, files: new Set(), jobs: [] };
      groups.push(group);
    }
    group.files.add(key);
    group.jobs.push(job);
  }
  return groups.map((g) => g.jobs);
}

/** A CLI file filter matching exactly this absolute path (Playwright reads them as regexes). */
export function exactFileFilter(absPath: string): string {
  return `/^${absPath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$/`;
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The stream reporter next to this module: .ts from the sources, .js from dist/. */
function streamReporterPath(): string | null {
  const here = fileURLToPath(import.meta.url);
  const candidate = path.join(
    path.dirname(here),
    "appwright",
    `stream-reporter${path.extname(here) || ".js"}`,
  );
  return existsSync(candidate) ? candidate : null;
}

interface RunState {
  started: Set<string>;
  finished: Set<string>;
}

export class AppwrightRunner implements Runner {
  readonly name = "appwright";
  readonly stats = { invocations: 0 };
  private readonly projectDir: string;

  constructor(private readonly opts: AppwrightRunnerOptions) {
    this.projectDir = realpathOr(opts.projectDir);
  }

  async run(jobs: RunnerJob[], ctx: RunContext): Promise<void> {
    const state: RunState = { started: new Set(), finished: new Set() };
    for (const group of planInvocations(jobs, this.projectDir)) {
      let todo = group;
      for (;;) {
        todo = todo.filter((j) => !state.finished.has(j.id) && !ctx.stopped(j.id).aborted);
        if (todo.length === 0) break;
        const interrupted = await this.invoke(todo, ctx, state);
        if (!interrupted) break;
      }
    }
  }

  /** One Playwright invocation. True when it was killed and its unfinished jobs must rerun. */
  private async invoke(jobs: RunnerJob[], ctx: RunContext, state: RunState): Promise<boolean> {
    const log = (line: string) => this.opts.onLine?.(`[qgjob appwright] ${line}`);
    this.stats.invocations++;
    const dir = await mkdtemp(path.join(tmpdir(), "qgjob-appwright-"));
    const byFile = new Map(
      jobs.map((j) => [realpathOr(fileKey(this.projectDir, j.testPath)), j] as const),
    );
    const unfinished = () => jobs.filter((j) => !state.finished.has(j.id));

    const ensureStarted = async (job: RunnerJob) => {
      if (state.started.has(job.id) || ctx.stopped(job.id).aborted) return;
      state.started.add(job.id);
      try {
        await ctx.onStart(job.id);
      } catch (err) {
        log(`onStart(${job.id}) failed: ${(err as Error).message}`);
      }
    };
    // Logs: one per test file from the stream reporter; the invocation's own output for jobs
    // settled after it ended without one (setup broke, no report).
    const logDir = path.join(dir, "logs");
    await mkdir(logDir);
    const invocationLog = new OutputLog(path.join(dir, "invocation.log"));
    let invocationLogDone = false;
    const logOf = (job: RunnerJob): string | undefined => {
      const own = logFileFor(logDir, fileKey(this.projectDir, job.testPath));
      if (existsSync(own)) return own;
      return invocationLogDone ? invocationLog.path : undefined;
    };
    const report = async (job: RunnerJob, outcome: TestOutcome) => {
      if (state.finished.has(job.id)) return;
      state.finished.add(job.id);
      if (ctx.stopped(job.id).aborted) return; // stopped: nothing more for this job
      await ensureStarted(job);
      const logFile = logOf(job);
      try {
        await ctx.onOutcome(logFile ? { ...outcome, logFile } : outcome);
      } catch (err) {
        log(`onOutcome(${job.id}) failed: ${(err as Error).message}`);
      }
    };

    let cli: string;
    try {
      cli = createRequire(path.join(this.projectDir, "package.json")).resolve(
        "@playwright/test/cli",
      );
    } catch {
      const message = `@playwright/test is not installed in ${this.projectDir} (run npm ci there)`;
      for (const job of jobs) await report(job, errorOutcome(job, message));
      await invocationLog.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      return false;
    }

    const reportFile = path.join(dir, "report.json");
    const streamFile = path.join(dir, "stream.jsonl");
    const reporter = streamReporterPath();
    if (!reporter) log("stream reporter not found: results come at the end of the invocation");

    const timeouts = jobs.map((j) => Math.max(1, j.timeoutS) * 1000);
    const perTestMs = Math.max(...timeouts);
    const globalMs = timeouts.reduce((a, b) => a + b, 0) + GLOBAL_SLACK_MS;
    const args = [
      cli,
      "test",
      "--config",
      this.opts.configFile ?? "appwright.config.ts",
      ...[...byFile.keys()].map(exactFileFilter),
      "--project",
      this.opts.project,
      "--workers",
      "1",
      "--retries",
      "0",
      "--timeout",
      String(perTestMs),
      "--global-timeout",
      String(globalMs),
      "--output",
      path.join(dir, "test-results"),
      "--reporter",
      ["list", "json", ...(reporter ? [reporter] : [])].join(","),
      ...(this.opts.extraArgs ?? []),
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CI: process.env.CI || "1",
      ...this.opts.env,
      PLAYWRIGHT_HTML_OPEN: "never",
      PLAYWRIGHT_JSON_OUTPUT_FILE: reportFile,
      QGJOB_STREAM_FILE: streamFile,
      QGJOB_LOG_DIR: logDir,
      QGJOB_APP_VERSION_ID: ctx.build.appVersionId,
      QGJOB_ATTEMPT: String(jobs[0]!.attempt),
    };
    if (ctx.build.buildPath) env.QGJOB_BUILD_PATH = ctx.build.buildPath;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];

    // Killing: why, and when (stream lines written after it are not trusted).
    const kill = new AbortController();
    let killAt: number | null = null;
    const killNow = (why: string) => {
      if (killAt !== null) return;
      killAt = Date.now();
      log(`killing the invocation: ${why}`);
      kill.abort();
    };

    const begun = new Set<string>();
    const pendingStop = new Set<string>();
    const watchdogs = new Map<string, NodeJS.Timeout>();

    const onBegin = async (job: RunnerJob) => {
      if (begun.has(job.id) || state.finished.has(job.id)) return;
      begun.add(job.id);
      if (pendingStop.has(job.id) || ctx.stopped(job.id).aborted) {
        killNow(`job ${job.id} stopped`);
        return;
      }
      const started = Date.now();
      const limitMs = Math.max(1, job.timeoutS) * 1000;
      const timer = setTimeout(() => {
        if (state.finished.has(job.id)) return;
        killNow(`job ${job.id} ran past its ${job.timeoutS}s timeout`);
        void enqueue(() =>
          report(job, {
            jobId: job.id,
            status: "timed_out",
            durationMs: Date.now() - started,
            message: `exceeded its timeout of ${job.timeoutS}s`,
            file: job.testPath,
            artifacts: [],
          }),
        );
      }, limitMs + JOB_TIMEOUT_GRACE_MS);
      timer.unref();
      watchdogs.set(job.id, timer);
      await ensureStarted(job);
    };

    // Stream events and reports go through one queue, in order.
    let queue: Promise<void> = Promise.resolve();
    const enqueue = (fn: () => Promise<void>) => {
      queue = queue.then(fn, fn);
      return queue;
    };
    const handle = async (event: StreamEvent) => {
      if (killAt !== null && event.ts >= killAt) return;
      const job = byFile.get(realpathOr(event.file));
      if (!job) return;
      if (event.type === "begin") return onBegin(job);
      if (state.finished.has(job.id)) return;
      clearTimeout(watchdogs.get(job.id));
      const tests: FlatTest[] = event.tests.map((t) => ({ ...t, file: realpathOr(t.file) }));
      const outcome = outcomeFromTests(job, tests, { projectDir: this.projectDir });
      if (outcome) await report(job, outcome);
    };

    // Poll the stream file for complete lines.
    let offset = 0;
    const drain = async () => {
      let text: string;
      try {
        text = (await readFile(streamFile)).subarray(offset).toString("utf8");
      } catch {
        return;
      }
      const end = text.lastIndexOf("\n");
      if (end < 0) return;
      offset += Buffer.byteLength(text.slice(0, end + 1));
      for (const line of text.slice(0, end).split("\n")) {
        if (!line.trim()) continue;
        let event: StreamEvent;
        try {
          event = JSON.parse(line) as StreamEvent;
        } catch {
          continue;
        }
        await enqueue(() => handle(event));
      }
    };
    let polling: Promise<void> | null = null;
    const poller = setInterval(() => {
      polling ??= drain().finally(() => (polling = null));
    }, POLL_MS);

    // Stop signals.
    const listeners: [AbortSignal, () => void][] = [];
    for (const job of jobs) {
      const signal = ctx.stopped(job.id);
      const onStop = () => {
        if (state.finished.has(job.id)) return;
        if (begun.has(job.id) || !reporter) killNow(`job ${job.id} stopped`);
        else pendingStop.add(job.id); // killed when its file begins, if it does
      };
      signal.addEventListener("abort", onStop, { once: true });
      listeners.push([signal, onStop]);
    }

    if (!reporter) for (const job of jobs) await ensureStarted(job);
    log(`running ${jobs.length} file(s): ${jobs.map((j) => j.testPath).join(" ")}`);
    const result = await runProcess(process.execPath, args, {
      cwd: this.projectDir,
      env,
      signal: kill.signal,
      timeoutMs: globalMs + HARD_KILL_SLACK_MS,
      tailLines: TAIL_LINES,
      onLine: this.opts.onLine,
      output: invocationLog,
    });
    invocationLogDone = await invocationLog.close().then(
      () => true,
      () => false,
    );

    clearInterval(poller);
    for (const [signal, onStop] of listeners) signal.removeEventListener("abort", onStop);
    await polling;
    await drain();
    await queue;
    for (const timer of watchdogs.values()) clearTimeout(timer);

    let interrupted = false;
    if (result.stopped) {
      interrupted = true; // rerun what is left
    } else if (result.timedOut) {
      const message = `AppWright did not finish within ${Math.round((globalMs + HARD_KILL_SLACK_MS) / 1000)}s`;
      for (const job of unfinished()) await report(job, errorOutcome(job, message, result.tail));
    } else {
      let parsed: PlaywrightJsonReport | null = null;
      try {
        parsed = JSON.parse(await readFile(reportFile, "utf8")) as PlaywrightJsonReport;
      } catch {
        parsed = null;
      }
      const left = unfinished();
      const outcomes = parseAppwrightReport(parsed, left, {
        projectDir: this.projectDir,
        logTail: result.tail,
        projectName: this.opts.project,
      });
      for (const [i, job] of left.entries()) await report(job, outcomes[i]!);
    }

    // Every outcome has been taken (the agent copies its evidence into its spool first).
    await rm(dir, { recursive: true, force: true });
    return interrupted;
  }
}
