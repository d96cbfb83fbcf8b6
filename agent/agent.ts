/**
 * The device agent: registers, long-polls for a lease, prepares the build once per lease, runs
 * the batch through its runner while heartbeating on its own timer, and posts each result as
 * soon as it is known. A cancel (heard on a heartbeat) or a lost lease kills the test's process
 * group; stop() drains: no new lease, the current test gets a grace period, the rest is released.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { ApiError, type QgjobClient } from "../api/client.js";
import { TestPath, type Lease, type RunBundle } from "../api/schemas.js";
import type { Target } from "../api/targets.js";
import { BuildError, type BuildResolver } from "./build.js";
import { WorkspaceError, type BundleWorkspaces } from "./bundle-workspace.js";
import { LiveLogSender, type LiveLogOptions } from "./live-log.js";
import { openPush } from "./push.js";
import { Evidence } from "./evidence/evidence.js";
import type { LogcatOptions } from "./evidence/logcat.js";
import { transient, type BlobSink } from "./evidence/uploader.js";
import type { Runner, RunnerJob, TestOutcome } from "./runners/runner.js";

export interface AgentOptions {
  client: QgjobClient;
  name: string;
  target: Target;
  device: string | null;
  labels: string[];
  installed: string[];
  /**
   * What the device holds now (the agent's device session). Given, the agent reports after each
   * lease what the device did (installs, sessions, setup time: the runner's counters) and holds,
   * so the scheduler's install affinity follows the device, not the grants.
   */
  installedNow?: () => string[];
  runner: Runner;
  builds: BuildResolver;
  /** Unpacks runs' test bundles (and fetches their uploaded builds); absent: bundles not run. */
  bundles?: BundleWorkspaces;
  logger: Logger;
  /** How long one lease request may wait on the server for work. */
  leaseWaitS: number;
  /** On stop(), how long the running test may take to finish before it is killed. */
  drainGraceMs: number;
  /** Where evidence files go (the blob store's routes). */
  blobs: BlobSink;
  /** The spool for results and uploads; null: a temporary one that does not survive a restart. */
  spoolDir: string | null;
  /** Android: attach each test's window of the device log. */
  logcat?: LogcatOptions | null;
  /** The live log's flush interval and buffer (tests). */
  liveLog?: LiveLogOptions;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

/** Backoff for reconnecting: 0.5 s doubling to 10 s. */
/** What a log line says of a job that did not pass: the first line of its message, cut short. */
const reasonOf = (message = "") =>
  (message.split("\n").find((l) => l.trim() !== "") ?? "").trim().slice(0, 300);

const backoff = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt);

export class DeviceAgent {
  private agentId: string | null = null;
  private installed: string[];
  private readonly stopping = new AbortController();
  private session: LeaseSession | null = null;
  private evidence: Evidence | null = null;
  /** Leases taken and jobs received, for the agent's summary line. */
  readonly stats = { leases: 0, jobs: 0 };

  constructor(private readonly opts: AgentOptions) {
    this.installed = opts.installed;
  }

  get id(): string | null {
    return this.agentId;
  }

  /** Works until stop() has drained it. */
  async run(): Promise<void> {
    const log = this.opts.logger;
    const evidence = await Evidence.open({
      dir: this.opts.spoolDir,
      sink: this.opts.blobs,
      logger: log,
    });
    this.evidence = evidence;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        if (!this.agentId) {
          // Before registering: what a previous run left belongs to leases that may still be
          // held, by the registration (agent key) that held them.
          const earlierKey = this.readAgentKey();
          if (earlierKey) this.opts.client.useAgentKey(earlierKey);
          await evidence.resend((l, j, body) => this.opts.client.reportResult(l, j, body));
          await this.register();
        }
        const lease = await this.opts.client.lease(
          this.agentId!,
          this.opts.leaseWaitS,
          this.stopping.signal,
        );
        failures = 0;
        if (lease) await this.work(lease);
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        if (err instanceof ApiError && err.code === "lease_active") {
          // A lease granted while its answer was lost: give it back and ask again.
          const leaseId = (err.details as { lease_id?: string } | undefined)?.lease_id;
          if (leaseId) await this.opts.client.release(leaseId).catch(() => undefined);
          continue;
        }
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          throw err; // a bad token or scope does not get better by retrying
        }
        if (err instanceof ApiError && err.status === 404) this.agentId = null; // the server forgot us
        const delay = backoff(failures++);
        log.warn({ err: (err as Error).message, retryInMs: delay }, "server unavailable; retrying");
        await sleep(delay, this.stopping.signal);
      }
    }
    await evidence.uploader.stop(this.opts.drainGraceMs);
    log.info(
      {
        ...this.stats,
        builds: this.opts.builds.prepared,
        ...this.opts.runner.stats,
        ...evidence.uploader.stats,
      },
      "agent stopped",
    );
  }

  /** Drains: no new lease; the running test may finish within the grace period. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.opts.logger.info({ graceMs: this.opts.drainGraceMs }, "draining");
    this.stopping.abort();
    this.session?.drain(this.opts.drainGraceMs);
  }

  private async register() {
    const o = this.opts;
    const agent = await o.client.registerAgent({
      name: o.name,
      target: o.target,
      device: o.device ?? undefined,
      labels: o.labels,
      installed: this.installed,
    });
    this.agentId = agent.id;
    this.writeAgentKey(agent.key);
    o.logger.info(
      { agent: agent.id, name: o.name, target: o.target, device: o.device },
      "registered",
    );
  }

  /** Kept beside the spool: results spooled under this registration are posted with its key. */
  private get agentKeyFile(): string | null {
    return this.opts.spoolDir === null ? null : join(this.opts.spoolDir, "agent-key");
  }

  private readAgentKey(): string | null {
    const file = this.agentKeyFile;
    if (!file || !existsSync(file)) return null;
    return readFileSync(file, "utf8").trim() || null;
  }

  private writeAgentKey(key: string) {
    const file = this.agentKeyFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, key, { mode: 0o600 });
  }

  private async work(lease: Lease) {
    this.stats.leases++;
    this.stats.jobs += lease.jobs.length;
    const session = new LeaseSession(this.opts, this.agentId!, lease, this.evidence!);
    this.session = session;
    if (this.stopping.signal.aborted) session.drain(0);
    try {
      await session.run();
    } finally {
      this.session = null;
    }
    // What a later registration (the server forgot us) says the device holds.
    this.installed = this.opts.installedNow?.() ?? this.installed;
  }
}

/** One lease from grant to end: heartbeats, build, runs, retries, results, release. */
class LeaseSession {
  private readonly stops = new Map<string, AbortController>();
  private readonly attempts = new Map<string, number>();
  /** When each job's current attempt began (the logcat window). */
  private readonly startedAt = new Map<string, Date>();
  private lost = false;
  private draining = false;
  /** Once draining, posts stop being retried after this (ms since epoch): the agent must exit. */
  private giveUpAt = Infinity;
  private readonly log: Logger;
  private readonly live: LiveLogSender;
  /** Working directories (bundles, builds) this lease made; removed when it ends. */
  private readonly dirs: string[] = [];

  constructor(
    private readonly opts: AgentOptions,
    private readonly agentId: string,
    private readonly lease: Lease,
    private readonly evidence: Evidence,
  ) {
    this.log = opts.logger.child({ lease: lease.id });
    this.live = new LiveLogSender(opts.client, lease.id, this.log, opts.liveLog);
    for (const job of lease.jobs) this.attempts.set(job.id, job.attempt);
  }

  async run() {
    const started = performance.now();
    const before = this.counters();
    this.log.info(
      {
        app_version_id: this.lease.app_version_id,
        jobs: this.lease.jobs.length,
        install: this.lease.install,
      },
      "lease granted",
    );
    const beat = setInterval(() => void this.heartbeat(), this.lease.heartbeat_interval_s * 1000);
    const push = openPush(
      this.opts.client,
      this.lease.id,
      { cancel: (ids) => this.cancel(ids, "push"), revoked: (why) => this.loseLease(why) },
      this.log,
    );
    try {
      const build = await this.prepareBuild();
      if (build === undefined) return;
      for (const [bundle, jobs] of this.byBundle(await this.runnableJobs())) {
        const projectDir = bundle ? await this.openBundle(bundle, jobs) : undefined;
        if (projectDir === null) continue;
        const present = projectDir ? await this.inBundle(jobs, projectDir) : jobs;
        await this.runBatches(present, build, projectDir);
      }
    } finally {
      for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
      clearInterval(beat);
      push.close();
      this.live.close();
      const spent = this.spent(before);
      this.logFinished(started, spent);
      // Before the release: the next lease is chosen by what the device now holds.
      await this.reportDevice(spent);
      // Gives back what was not run (draining, lost); after the last result it is a no-op.
      if (!this.lost) await this.opts.client.release(this.lease.id).catch(() => undefined);
    }
  }

  /**
   * The build's local path; undefined when it could not be prepared (every job reported). The
   * agent's `--build` template wins; without one, the build uploaded with the run is used.
   */
  private async prepareBuild(): Promise<string | null | undefined> {
    try {
      const local = await this.opts.builds.prepare(this.lease.app_version_id);
      const uploaded = this.lease.jobs.find((j) => j.build)?.build;
      if (local !== null || !uploaded || !this.opts.bundles) return local;
      const placed = await this.opts.bundles.placeBuild(uploaded);
      this.dirs.push(placed.dir);
      return placed.path;
    } catch (err) {
      if (!(err instanceof BuildError) && !(err instanceof WorkspaceError)) throw err;
      // Infrastructure, not the tests: every job goes back to the queue for another device.
      this.log.error({ err: err.message }, "build preparation failed");
      await this.errorAll(
        this.lease.jobs.map((j) => j.id),
        err.message,
      );
      return undefined;
    }
  }

  /**
   * The jobs this device may run. The server refuses unsafe paths on submission; a tampered
   * database or a rogue server still must not make this device run a file outside its project.
   */
  private async runnableJobs(): Promise<RunnerJob[]> {
    const runnable: RunnerJob[] = [];
    for (const job of this.lease.jobs) {
      if (TestPath.safeParse(job.test_path).success) {
        runnable.push({
          id: job.id,
          testPath: job.test_path,
          attempt: job.attempt,
          timeoutS: job.timeout_s,
        });
        continue;
      }
      await this.report({
        jobId: job.id,
        status: "failed",
        durationMs: 0,
        message: `refused to run '${job.test_path}': not a relative path inside the project`,
        artifacts: [],
      });
    }
    return runnable;
  }

  /** The jobs grouped by their run's bundle (null: none, the agent's own project dir). */
  private byBundle(jobs: RunnerJob[]): Map<RunBundle | null, RunnerJob[]> {
    const bundles = new Map<string, RunBundle>();
    const groups = new Map<RunBundle | null, RunnerJob[]>();
    for (const job of jobs) {
      const ref = this.opts.bundles
        ? (this.lease.jobs.find((j) => j.id === job.id)?.bundle ?? null)
        : null;
      if (ref && !bundles.has(ref.sha256)) bundles.set(ref.sha256, ref);
      const key = ref ? bundles.get(ref.sha256)! : null;
      groups.set(key, [...(groups.get(key) ?? []), job]);
    }
    return groups;
  }

  /** The bundle's working directory; null when it could not be made (its jobs reported). */
  private async openBundle(bundle: RunBundle, jobs: RunnerJob[]): Promise<string | null> {
    try {
      const dir = await this.opts.bundles!.open(bundle);
      this.dirs.push(dir);
      return dir;
    } catch (err) {
      if (!(err instanceof WorkspaceError)) throw err;
      // Infrastructure, not the tests: the jobs go back to the queue for another device.
      this.log.error({ err: err.message }, "bundle preparation failed");
      await this.errorAll(
        jobs.map((j) => j.id),
        err.message,
      );
      return null;
    }
  }

  /** Reports jobs that could not start as infrastructure errors (the server may retry them). */
  private async errorAll(jobIds: string[], message: string) {
    for (const jobId of jobIds) {
      await this.report({ jobId, status: "error", durationMs: 0, message, artifacts: [] });
    }
  }

  /** The jobs whose test is in the bundle; the others fail at once (retrying cannot help). */
  private async inBundle(jobs: RunnerJob[], projectDir: string): Promise<RunnerJob[]> {
    const present: RunnerJob[] = [];
    for (const job of jobs) {
      if (existsSync(join(projectDir, job.testPath))) {
        present.push(job);
        continue;
      }
      const missing = {
        jobId: job.id,
        status: "failed" as const,
        durationMs: 0,
        message: `${job.testPath} is not in the bundle of this run`,
        artifacts: [],
      };
      // Each retry the server grants would find the same bundle: spend them here, at once.
      while (await this.report(missing));
    }
    return present;
  }

  /** Runs the batch; test failures with retries left run again, on the same device. */
  private async runBatches(jobs: RunnerJob[], buildPath: string | null, projectDir?: string) {
    let batch = jobs;
    while (batch.length > 0 && !this.lost) {
      const again: RunnerJob[] = [];
      const current = batch;
      await this.opts.runner.run(current, {
        build: { appVersionId: this.lease.app_version_id, buildPath, install: this.lease.install },
        projectDir,
        onStart: (jobId) => this.start(jobId),
        onOutcome: async (outcome) => {
          if (await this.report(outcome)) {
            const job = current.find((j) => j.id === outcome.jobId)!;
            again.push({ ...job, attempt: this.attempts.get(job.id)! });
          }
        },
        stopped: (jobId) => this.stopOf(jobId).signal,
        output: (jobId) => this.live.open(jobId, this.attempts.get(jobId)!),
      });
      for (const job of again) this.stops.delete(job.id);
      batch = again;
    }
  }

  private counters(): Record<string, number> {
    return {
      builds: this.opts.builds.prepared,
      ...this.opts.runner.stats,
      ...this.live.stats,
      ...this.opts.bundles?.stats,
    };
  }

  private spent(before: Record<string, number>): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.counters()).map(([k, v]) => [k, v - (before[k] ?? 0)]),
    );
  }

  /** One line per lease: how long it took and what it cost (builds, processes, invocations). */
  private logFinished(started: number, spent: Record<string, number>) {
    this.log.info(
      {
        jobs: this.lease.jobs.length,
        ms: Math.round(performance.now() - started),
        ...spent,
        lost: this.lost,
      },
      "lease finished",
    );
  }

  /** An agent owning its device session tells the server what the device did and holds. */
  private async reportDevice(spent: Record<string, number>) {
    const installed = this.opts.installedNow?.();
    if (!installed) return;
    const record = {
      installs: spent.installs ?? 0,
      sessions: spent.sessions ?? 0,
      setup_ms: { install: spent.installMs ?? 0, session: spent.sessionMs ?? 0 },
      installed: installed.slice(0, 100),
    };
    try {
      await this.persist(() => this.opts.client.reportLeaseDevice(this.lease.id, record));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "device record refused");
    }
  }

  drain(graceMs: number) {
    this.draining = true;
    this.giveUpAt = Date.now() + graceMs + 10_000;
    setTimeout(() => {
      for (const stop of this.stops.values()) stop.abort();
    }, graceMs).unref();
  }

  private stopOf(jobId: string): AbortController {
    let stop = this.stops.get(jobId);
    if (!stop) {
      stop = new AbortController();
      this.stops.set(jobId, stop);
    }
    return stop;
  }

  private async start(jobId: string) {
    const stop = this.stopOf(jobId);
    if (this.draining || this.lost) {
      stop.abort();
      return;
    }
    this.startedAt.set(jobId, new Date());
    try {
      await this.persist(() =>
        this.opts.client.startJob(this.lease.id, jobId, this.attempts.get(jobId)!),
      );
    } catch (err) {
      // The server ended it (cancel) or took the lease away: do not run it.
      this.log.warn({ job: jobId, err: (err as Error).message }, "job not started");
      stop.abort();
    }
  }

  /**
   * Posts an outcome with its evidence (spooled until the server answers, uploaded in the
   * background); answers true when the server wants the job run again in this lease.
   */
  private async report(o: TestOutcome): Promise<boolean> {
    const attempt = this.attempts.get(o.jobId)!;
    // Watchers hear the last of the output before the result ends their stream.
    await this.live.finish(o.jobId);
    try {
      const body = {
        attempt,
        status: o.status,
        duration_ms: o.durationMs,
        message: o.message?.slice(0, 64 * 1024),
        file: o.file,
        line: o.line,
        log_tail: o.logTail?.slice(-64 * 1024),
        artifacts: await this.evidence.collect(o, this.lease.org_id, this.logcatOf(o.jobId)),
      };
      const entry = { leaseId: this.lease.id, jobId: o.jobId, attempt, body };
      const res = await this.evidence.send(entry, (lease, job, b) =>
        this.persist(() => this.opts.client.reportResult(lease, job, b)),
      );
      this.log.info(
        {
          job: o.jobId,
          status: o.status,
          ms: o.durationMs,
          attempt,
          retry: res.retry,
          ...(o.status === "passed" ? {} : { reason: reasonOf(o.message) }),
        },
        "result posted",
      );
      if (res.retry) this.attempts.set(o.jobId, res.job.attempts);
      return res.retry;
    } catch (err) {
      this.log.warn({ job: o.jobId, err: (err as Error).message }, "result refused");
      return false;
    }
  }

  private logcatOf(jobId: string) {
    const since = this.startedAt.get(jobId);
    return this.opts.logcat && since ? { opts: this.opts.logcat, since } : undefined;
  }

  private async heartbeat() {
    try {
      const beat = await this.opts.client.heartbeat(this.agentId, this.lease.id);
      this.cancel(beat.cancel_job_ids, "heartbeat");
    } catch (err) {
      if (err instanceof ApiError && err.code === "lease_lost") this.loseLease("lease_lost");
      // Network trouble: the next beat tries again; the lease outlives a few missed ones.
    }
  }

  /** Jobs the server ended (cancel, timeout), heard on the push channel or a heartbeat. */
  private cancel(jobIds: string[], via: "push" | "heartbeat") {
    for (const jobId of jobIds) {
      if (!this.attempts.has(jobId)) continue; // not this lease's
      const stop = this.stopOf(jobId);
      if (stop.signal.aborted) continue;
      this.log.info(
        { job: jobId, via, status: "cancelled" },
        "job cancelled on the server: stopping it",
      );
      stop.abort();
    }
  }

  private loseLease(reason: string) {
    if (this.lost) return;
    this.log.warn({ reason }, "lease lost: stopping its tests");
    this.lost = true;
    for (const jobId of this.lease.jobs.map((j) => j.id)) this.stopOf(jobId).abort();
  }

  /** Retries through a server restart until the call lands, or the lease is gone. */
  private async persist<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        // Any 5xx too: a server out of disk or restarting answers again later.
        if (!(err instanceof ApiError) || !transient(err) || this.lost) throw err;
        if (Date.now() > this.giveUpAt) throw err; // draining with the server away: exit anyway
        await sleep(Math.min(backoff(attempt), Math.max(0, this.giveUpAt - Date.now())));
      }
    }
  }
}
