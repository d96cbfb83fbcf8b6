/**
 * A runner turns a lease's test files into results. The agent owns the lease (heartbeats,
 * posting, cancellation); a runner only runs tests and says how each one ended.
 */

/** One job of a lease, as a runner needs it. */
export interface RunnerJob {
  id: string;
  testPath: string;
  attempt: number;
  timeoutS: number;
}

export type OutcomeStatus = "passed" | "failed" | "timed_out" | "error";

/** How one job ended. `error` means infrastructure (setup broke, runner crashed), not the test. */
export interface TestOutcome {
  jobId: string;
  status: OutcomeStatus;
  durationMs: number;
  message?: string;
  /** Where the test failed, as the framework reported it. */
  file?: string;
  line?: number;
  /** The last lines of the test's output, for a failure message without a framework report. */
  logTail?: string;
  /** Files on this machine the test left as evidence; the agent uploads them and deletes them. */
  artifacts: LocalArtifact[];
  /** A file holding this attempt's full output (capped), uploaded as its log. */
  logFile?: string;
}

export interface LocalArtifact {
  name: string;
  /** Path on the agent's disk. */
  path: string;
  content_type?: string;
}

export interface BuildInfo {
  appVersionId: string;
  /** Local path (or URL the framework accepts) of the build, when the agent resolved one. */
  buildPath: string | null;
  /** The lease's flag: the server expects the device to install this build first. */
  install: boolean;
}

export interface RunContext {
  build: BuildInfo;
  /** Where these tests live: the run's unpacked bundle; absent: the runner's own project dir. */
  projectDir?: string;
  /**
   * Called before a job's test begins (the agent marks it running on the server). When its stop
   * signal has fired by the time this resolves (a cancel, or the agent draining), skip the job.
   */
  onStart(jobId: string): Promise<void>;
  /** Called as soon as a job's outcome is known; the agent posts it right away. */
  onOutcome(outcome: TestOutcome): Promise<void>;
  /**
   * Aborted when these jobs must stop (cancelled on the server, or the agent is shutting down):
   * the runner kills their processes and reports nothing more for them.
   */
  stopped(jobId: string): AbortSignal;
  /** Where a job's output goes as it comes (the live log), from its onStart to its outcome. */
  output?(jobId: string): { write(chunk: Buffer): void };
}

export interface Runner {
  readonly name: string;
  /** Counters the agent logs with each lease (e.g. framework invocations). */
  readonly stats: Record<string, number>;
  /**
   * Runs the batch. Every job must get exactly one onOutcome unless its stop signal fired.
   * Jobs are given in the order the scheduler chose (longest first).
   */
  run(jobs: RunnerJob[], ctx: RunContext): Promise<void>;
}
