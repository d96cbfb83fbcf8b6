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
import { existsSync, mkdtempSync, realpathSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runProcess, type ProcessResult } from "../process.js";
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
import { DeviceLease } from "./appwright-device.js";
import type { DeviceSession } from "../device/session.js";
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
  /**
   * The device the agent owns (emulator, local device): tests of the `emulator` and
   * `local-device` providers get their sessions from it (./appwright/device-fixture.ts)
   * instead of AppWright's provider. Without it AppWright's providers run as they are.
   */
  device?: DeviceSession;
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

/** Playwright's CLI as the project installed it. */
function playwrightCli(projectDir: string): string | null {
  try {
    return createRequire(path.join(projectDir, "package.json")).resolve("@playwright/test/cli");
  } catch {
    return null;
  }
}

const noPlaywright = (projectDir: string) =>
  `@playwright/test is not installed in ${projectDir} (run npm ci there)`;

/**
 * Why the project cannot run a runner's tests, or null. Playwright itself reads the config
 * (`--list` of no file), so a config that does not load or lacks the project is found as a run
 * would find it.
 */
export async function projectProblem(
  opts: Pick<AppwrightRunnerOptions, "projectDir" | "project" | "configFile" | "env">,
): Promise<string | null> {
  const projectDir = realpathOr(opts.projectDir);
  const config = path.join(projectDir, opts.configFile ?? "appwright.config.ts");
  const cli = playwrightCli(projectDir);
  if (!cli) return noPlaywright(projectDir);
  const res = await runProcess(
    process.execPath,
    [cli, "test", "--config", config, "--project", opts.project, "--list"]
      // Matches no file: only the config and the project are looked at.
      .concat(["--pass-with-no-tests", "/^$/"]),
    { cwd: projectDir, env: { ...process.env, ...opts.env }, timeoutMs: 120_000 },
  );
  if (res.exitCode === 0) return null;
  const lines = res.tail.split("\n").map((l) => l.trim());
  const missing = lines.find((l) => l.includes("not found. Available projects:"));
  if (missing) {
    const known = missing.slice(missing.indexOf("Available projects:") + 20);
    return `--project: no project '${opts.project}' in ${config} (it has ${known})`;
  }
  const why = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.filter(Boolean).at(-1) ?? "";
  return `${config} does not load: ${why}`;
}

interface RunState {
  started: Set<string>;
  finished: Set<string>;
}

export class AppwrightRunner implements Runner {
  readonly name = "appwright";
  /**
   * Per lease (the agent logs the difference and reports the device's part to the server):
   * installs and the time they took, sessions and the time opening them took.
   */
  readonly stats = { invocations: 0, installs: 0, installMs: 0, sessions: 0, sessionMs: 0 };
  private readonly projectDir: string;

  constructor(private readonly opts: AppwrightRunnerOptions) {
    this.projectDir = realpathOr(opts.projectDir);
  }

  async run(jobs: RunnerJob[], ctx: RunContext): Promise<void> {
    const state: RunState = { started: new Set(), finished: new Set() };
    const device = this.opts.device ? await this.prepareDevice(jobs, ctx, state) : null;
    if (this.opts.device && !device) return;
    const projectDir = ctx.projectDir ? realpathOr(ctx.projectDir) : this.projectDir;
    try {
      for (const group of planInvocations(jobs, projectDir)) {
        let todo = group;
        for (;;) {
          todo = todo.filter((j) => !state.finished.has(j.id) && !ctx.stopped(j.id).aborted);
          if (todo.length === 0) break;
          const inv = new Invocation(this.opts, projectDir, todo, ctx, state, device);
          this.stats.invocations++;
          const interrupted = await inv.execute();
          if (device) {
            const sessions = device.readSessions();
            this.stats.sessions += sessions.count;
            this.stats.sessionMs += sessions.ms;
          }
          if (!interrupted) break;
        }
      }
    } finally {
      await device?.close();
    }
  }

  /** The device's part of a lease: Appium up, the build installed once. Null: jobs reported. */
  private async prepareDevice(
    jobs: RunnerJob[],
    ctx: RunContext,
    state: RunState,
  ): Promise<DeviceLease | null> {
    const lease = await DeviceLease.prepare(this.opts.device!, ctx.build, this.opts.onLine);
    if (typeof lease === "string") {
      for (const job of jobs) {
        state.finished.add(job.id);
        if (!ctx.stopped(job.id).aborted) await ctx.onOutcome(errorOutcome(job, lease));
      }
      return null;
    }
    this.stats.installs += lease.prepared.installed ? 1 : 0;
    this.stats.installMs += lease.prepared.installMs;
    return lease;
  }
}

/**
 * One Playwright invocation, in named steps: build its arguments and environment, stream its
 * results, watch stop signals and timeouts, then settle what the stream did not from the report.
 */
class Invocation {
  private readonly dir: string;
  private readonly reportFile: string;
  private readonly streamFile: string;
  private readonly reporter = streamReporterPath();
  private readonly byFile: Map<string, RunnerJob>;
  private readonly timeouts: number[];
  private readonly kill = new AbortController();
  /** When the invocation was killed: stream lines written after it are not trusted. */
  private killAt: number | null = null;
  private readonly begun = new Set<string>();
  private readonly pendingStop = new Set<string>();
  private readonly watchdogs = new Map<string, NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private offset = 0;
  /** One log per test file (the stream reporter's), and the invocation's own output. */
  private readonly logDir: string;
  private readonly invocationLog: OutputLog;
  private invocationLogDone = false;
  /** Appium deaths seen when the invocation began (a death during it is infrastructure). */
  private readonly appiumDeaths: number;

  constructor(
    private readonly opts: AppwrightRunnerOptions,
    private readonly projectDir: string,
    private readonly jobs: RunnerJob[],
    private readonly ctx: RunContext,
    private readonly state: RunState,
    private readonly device: DeviceLease | null,
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), "qgjob-appwright-"));
    this.reportFile = path.join(this.dir, "report.json");
    this.streamFile = path.join(this.dir, "stream.jsonl");
    this.logDir = path.join(this.dir, "logs");
    this.invocationLog = new OutputLog(path.join(this.dir, "invocation.log"));
    this.byFile = new Map(
      jobs.map((j) => [realpathOr(fileKey(projectDir, j.testPath)), j] as const),
    );
    this.timeouts = jobs.map((j) => Math.max(1, j.timeoutS) * 1000);
    this.appiumDeaths = device?.appiumDeaths() ?? 0;
  }

  private log(line: string) {
    this.opts.onLine?.(`[qgjob appwright] ${line}`);
  }

  private get globalMs() {
    return this.timeouts.reduce((a, b) => a + b, 0) + GLOBAL_SLACK_MS;
  }

  /** True when it was killed and its unfinished jobs must run again. */
  async execute(): Promise<boolean> {
    const cli = playwrightCli(this.projectDir);
    if (!cli) {
      const message = noPlaywright(this.projectDir);
      for (const job of this.jobs) await this.report(job, errorOutcome(job, message));
      await this.invocationLog.close().catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true });
      return false;
    }
    if (!this.reporter)
      this.log("stream reporter not found: results come at the end of the invocation");
    await mkdir(this.logDir);
    const poller = setInterval(() => void this.poll(), POLL_MS);
    const unwatch = this.watchStops();
    if (!this.reporter) for (const job of this.jobs) await this.ensureStarted(job);
    this.log(`running ${this.jobs.length} file(s): ${this.jobs.map((j) => j.testPath).join(" ")}`);
    const result = await runProcess(process.execPath, await this.args(cli), {
      cwd: this.projectDir,
      env: this.env(),
      signal: this.kill.signal,
      timeoutMs: this.globalMs + HARD_KILL_SLACK_MS,
      tailLines: TAIL_LINES,
      onLine: this.opts.onLine,
      output: this.invocationLog,
    });
    this.invocationLogDone = await this.invocationLog.close().then(
      () => true,
      () => false,
    );
    clearInterval(poller);
    unwatch();
    await this.polling;
    await this.drain();
    await this.queue;
    for (const timer of this.watchdogs.values()) clearTimeout(timer);
    const interrupted = result.stopped;
    if (!interrupted) await this.settle(result);
    await this.cleanup();
    return interrupted;
  }

  private async args(cli: string): Promise<string[]> {
    const perTestMs = Math.max(...this.timeouts);
    return [
      cli,
      "test",
      "--config",
      this.opts.configFile ?? "appwright.config.ts",
      ...(this.device ? ["--tsconfig", await this.device.tsconfig(this.dir, this.projectDir)] : []),
      ...[...this.byFile.keys()].map(exactFileFilter),
      ...["--project", this.opts.project, "--workers", "1", "--retries", "0"],
      ...["--timeout", String(perTestMs), "--global-timeout", String(this.globalMs)],
      ...["--output", path.join(this.dir, "test-results")],
      "--reporter",
      ["list", "json", ...(this.reporter ? [this.reporter] : [])].join(","),
      ...(this.opts.extraArgs ?? []),
    ];
  }

  private env(): NodeJS.ProcessEnv {
    const { build } = this.ctx;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CI: process.env.CI || "1",
      ...this.opts.env,
      PLAYWRIGHT_HTML_OPEN: "never",
      PLAYWRIGHT_JSON_OUTPUT_FILE: this.reportFile,
      QGJOB_STREAM_FILE: this.streamFile,
      QGJOB_LOG_DIR: this.logDir,
      QGJOB_APP_VERSION_ID: build.appVersionId,
      QGJOB_ATTEMPT: String(this.jobs[0]!.attempt),
      ...(this.device?.env(this.projectDir) ?? {}),
    };
    if (build.buildPath) env.QGJOB_BUILD_PATH = build.buildPath;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return env;
  }

  private killNow(why: string) {
    if (this.killAt !== null) return;
    this.killAt = Date.now();
    this.log(`killing the invocation: ${why}`);
    this.kill.abort();
  }

  private async ensureStarted(job: RunnerJob) {
    if (this.state.started.has(job.id) || this.ctx.stopped(job.id).aborted) return;
    this.state.started.add(job.id);
    try {
      await this.ctx.onStart(job.id);
    } catch (err) {
      this.log(`onStart(${job.id}) failed: ${(err as Error).message}`);
    }
  }

  private async report(job: RunnerJob, outcome: TestOutcome) {
    if (this.state.finished.has(job.id)) return;
    this.state.finished.add(job.id);
    if (this.ctx.stopped(job.id).aborted) return; // stopped: nothing more for this job
    await this.ensureStarted(job);
    const logFile = this.logOf(job);
    const logged = logFile ? { ...outcome, logFile } : outcome;
    try {
      await this.ctx.onOutcome(this.device?.classify(logged, this.appiumDeaths) ?? logged);
    } catch (err) {
      this.log(`onOutcome(${job.id}) failed: ${(err as Error).message}`);
    }
  }

  /** Stream events and reports go through one queue, in order. */
  private enqueue(fn: () => Promise<void>) {
    this.queue = this.queue.then(fn, fn);
    return this.queue;
  }

  private async onBegin(job: RunnerJob) {
    if (this.begun.has(job.id) || this.state.finished.has(job.id)) return;
    this.begun.add(job.id);
    if (this.pendingStop.has(job.id) || this.ctx.stopped(job.id).aborted) {
      this.killNow(`job ${job.id} stopped`);
      return;
    }
    const started = Date.now();
    const timer = setTimeout(
      () => {
        if (this.state.finished.has(job.id)) return;
        this.killNow(`job ${job.id} ran past its ${job.timeoutS}s timeout`);
        void this.enqueue(() =>
          this.report(job, {
            jobId: job.id,
            status: "timed_out",
            durationMs: Date.now() - started,
            message: `exceeded its timeout of ${job.timeoutS}s`,
            file: job.testPath,
            artifacts: [],
          }),
        );
      },
      Math.max(1, job.timeoutS) * 1000 + JOB_TIMEOUT_GRACE_MS,
    );
    timer.unref();
    this.watchdogs.set(job.id, timer);
    await this.ensureStarted(job);
  }

  private async handle(event: StreamEvent) {
    if (this.killAt !== null && event.ts >= this.killAt) return;
    const job = this.byFile.get(realpathOr(event.file));
    if (!job) return;
    if (event.type === "begin") return this.onBegin(job);
    if (this.state.finished.has(job.id)) return;
    clearTimeout(this.watchdogs.get(job.id));
    const tests: FlatTest[] = event.tests.map((t) => ({ ...t, file: realpathOr(t.file) }));
    const outcome = outcomeFromTests(job, tests, { projectDir: this.projectDir });
    if (outcome) await this.report(job, outcome);
  }

  private polling: Promise<void> | null = null;
  private poll() {
    this.polling ??= this.drain().finally(() => (this.polling = null));
  }

  /** Reads the stream file's complete new lines. */
  private async drain() {
    let text: string;
    try {
      text = (await readFile(this.streamFile)).subarray(this.offset).toString("utf8");
    } catch {
      return;
    }
    const end = text.lastIndexOf("\n");
    if (end < 0) return;
    this.offset += Buffer.byteLength(text.slice(0, end + 1));
    for (const line of text.slice(0, end).split("\n")) {
      if (!line.trim()) continue;
      let event: StreamEvent;
      try {
        event = JSON.parse(line) as StreamEvent;
      } catch {
        continue;
      }
      await this.enqueue(() => this.handle(event));
    }
  }

  /** A job stopped while its file runs kills the invocation; before it begins, when it does. */
  private watchStops(): () => void {
    const listeners: [AbortSignal, () => void][] = [];
    for (const job of this.jobs) {
      const signal = this.ctx.stopped(job.id);
      const onStop = () => {
        if (this.state.finished.has(job.id)) return;
        if (this.begun.has(job.id) || !this.reporter) this.killNow(`job ${job.id} stopped`);
        else this.pendingStop.add(job.id); // killed when its file begins, if it does
      };
      signal.addEventListener("abort", onStop, { once: true });
      listeners.push([signal, onStop]);
    }
    return () => {
      for (const [signal, onStop] of listeners) signal.removeEventListener("abort", onStop);
    };
  }

  /** Every job the stream did not settle gets its outcome from the report (or the timeout). */
  private async settle(result: ProcessResult) {
    const left = this.jobs.filter((j) => !this.state.finished.has(j.id));
    if (result.timedOut) {
      const message = `AppWright did not finish within ${Math.round((this.globalMs + HARD_KILL_SLACK_MS) / 1000)}s`;
      for (const job of left) await this.report(job, errorOutcome(job, message, result.tail));
      return;
    }
    let parsed: PlaywrightJsonReport | null = null;
    try {
      parsed = JSON.parse(await readFile(this.reportFile, "utf8")) as PlaywrightJsonReport;
    } catch {
      parsed = null;
    }
    const outcomes = parseAppwrightReport(parsed, left, {
      projectDir: this.projectDir,
      logTail: result.tail,
      projectName: this.opts.project,
    });
    for (const [i, job] of left.entries()) await this.report(job, outcomes[i]!);
  }

  /** The test output stays when an artifact points into it: the agent uploads and deletes it. */
  /** A job's log: its file's own from the stream reporter, else (once it ended) the invocation's. */
  private logOf(job: RunnerJob): string | undefined {
    const own = logFileFor(this.logDir, fileKey(this.projectDir, job.testPath));
    if (existsSync(own)) return own;
    return this.invocationLogDone ? this.invocationLog.path : undefined;
  }

  /** Every outcome has been taken (the agent copies its evidence into its spool first). */
  private async cleanup() {
    await rm(this.dir, { recursive: true, force: true });
  }
}
