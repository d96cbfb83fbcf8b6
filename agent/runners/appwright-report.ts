/**
 * From Playwright's JSON report (what `appwright test --reporter json` writes) to one
 * TestOutcome per job. Pure: no I/O, no clock.
 *
 * A job is one test file; the report is a tree of suites per file with specs (tests) inside.
 * Rules, per job:
 * - Every test of the file, its final attempt (the last result) decides:
 *   passed -> passed; failed -> failed; timedOut -> timed_out;
 *   skipped with expectedStatus "skipped" (test.skip, test.fixme) -> skipped;
 *   skipped with any other expectedStatus, interrupted, or no result at all -> did not run
 *   (Playwright marks the tests a global timeout or an interruption cut short "skipped").
 * - The job fails (or times out) if any of its tests did: the first such test in report order
 *   gives the status, message, file and line. Else, if any test did not run, the job is an
 *   `error` (infrastructure) with the report's top-level errors as its message. Else it passed;
 *   a file whose tests were all skipped passes with the message "skipped: ...".
 * - durationMs: the sum of the final attempts' durations of the file's tests.
 * - message: the failing test's title and its first error's message, ANSI escapes stripped
 *   (`result.error.message`, which has no code snippet, else `errors[0].message`); file and
 *   line: that error's location, relative to the project directory, else the test's own.
 * - artifacts: every attachment with a path (videos on BrowserStack, files a test attached),
 *   from the final attempts. Left out: attachments with only a body (no URL), and Playwright's
 *   "error-context" (a markdown copy of the error and snippet, already in message/file/line).
 * - A job whose file is not in the report: `error`, with the top-level errors when there are
 *   some (setup broke, global timeout), else "no test ran" (file missing, no tests in it).
 * - No report at all: every job `error`, with the process output tail.
 */
import path from "node:path";
import type { OutcomeStatus, RunnerJob, TestOutcome } from "./runner.js";

interface Location {
  file: string;
  line: number;
  column?: number;
}
interface ReportError {
  message?: string;
  location?: Location;
}
export interface ReportResult {
  status: string;
  duration: number;
  retry?: number;
  error?: ReportError;
  errors?: ReportError[];
  attachments?: { name: string; contentType?: string; path?: string; body?: string }[];
}
/** One test with its absolute file: what both the JSON report and the stream reporter give. */
export interface FlatTest {
  title: string;
  /** Absolute path of the test file. */
  file: string;
  line: number;
  expectedStatus?: string;
  results: ReportResult[];
}

interface ReportSpec {
  title: string;
  file: string;
  line: number;
  tests?: { expectedStatus?: string; projectName?: string; results?: ReportResult[] }[];
}
interface ReportSuite {
  file?: string;
  specs?: ReportSpec[];
  suites?: ReportSuite[];
}
/** The parts of Playwright's JSON report this module reads. */
export interface PlaywrightJsonReport {
  config?: { rootDir?: string; configFile?: string };
  suites?: ReportSuite[];
  errors?: ReportError[];
}

export interface ParseOptions {
  /** The AppWright project directory: jobs' testPath are relative to it. */
  projectDir: string;
  /** The invocation's output tail, for outcomes that have nothing better. */
  logTail?: string;
  /** Only tests of this Playwright project (when the report holds several). */
  projectName?: string;
}

// The ansi-regex pattern (chalk/ansi-regex), for colours and cursor codes Playwright emits.
const ANSI = new RegExp(
  // eslint-disable-next-line no-control-regex -- ANSI escapes start with control characters
  "[\\u001B\\u009B][[\\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\\d\\/#&.:=?%@~_]+)*|[a-zA-Z\\d]+(?:;[-a-zA-Z\\d\\/#&.:=?%@~_]*)*)?\\u0007)|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PR-TZcf-nq-uy=><~]))",
  "g",
);
const MAX_MESSAGE = 4000;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > MAX_MESSAGE ? trimmed.slice(0, MAX_MESSAGE) + "…" : trimmed;
}

/** The key a test file is matched by: its absolute, normalised path. */
export function fileKey(baseDir: string, file: string): string {
  return path.resolve(baseDir, file);
}

/** A path relative to the project when it is inside it, with forward slashes. */
function relativeToProject(projectDir: string, file: string): string {
  const abs = path.resolve(projectDir, file);
  const rel = path.relative(path.resolve(projectDir), abs);
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return abs;
  return rel.split(path.sep).join("/");
}

/** Every test of a report, flattened, with absolute file paths. */
export function flattenReport(report: PlaywrightJsonReport, opts: ParseOptions): FlatTest[] {
  const rootDir =
    report.config?.rootDir ??
    (report.config?.configFile ? path.dirname(report.config.configFile) : opts.projectDir);
  const out: FlatTest[] = [];
  const walk = (suite: ReportSuite) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (opts.projectName && test.projectName && test.projectName !== opts.projectName) {
          continue;
        }
        out.push({
          title: spec.title,
          file: fileKey(rootDir, spec.file ?? suite.file ?? ""),
          line: spec.line,
          expectedStatus: test.expectedStatus,
          results: test.results ?? [],
        });
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report.suites ?? []) walk(suite);
  return out;
}

/** The report's top-level errors (setup failures, global timeout) as one message. */
export function reportErrors(report: PlaywrightJsonReport): string | undefined {
  const messages = (report.errors ?? [])
    .map((e) => stripAnsi(e.message ?? "").trim())
    .filter((m) => m.length > 0);
  return messages.length ? clip(messages.join("\n")) : undefined;
}

/**
 * Where a failure happened: the error's location, else the test's own. Playwright parses the
 * location out of the stack, and a path with " (" in it (`/w/my demo (copy)/tests/a.spec.ts`)
 * comes out cut (`copy)/tests/a.spec.ts`): a relative location that ends the test's own path
 * is the test file; any other relative one cannot be trusted.
 */
function errorPlace(loc: Location | undefined, test: FlatTest): { file: string; line: number } {
  if (!loc?.file) return { file: test.file, line: test.line };
  if (path.isAbsolute(loc.file)) return { file: loc.file, line: loc.line };
  const tail = loc.file.split(/[\\/]/).join(path.sep);
  if (test.file.endsWith(path.sep + tail) || test.file.endsWith(tail)) {
    return { file: test.file, line: loc.line };
  }
  return { file: test.file, line: test.line };
}

type TestVerdict = "passed" | "skipped" | "failed" | "timed_out" | "not_run";

function verdict(test: FlatTest): TestVerdict {
  const last = test.results.at(-1);
  if (!last) return "not_run";
  switch (last.status) {
    case "passed":
      return "passed";
    case "failed":
      return "failed";
    case "timedOut":
      return "timed_out";
    case "skipped":
      return test.expectedStatus === "skipped" ? "skipped" : "not_run";
    default: // interrupted, or anything newer
      return "not_run";
  }
}

/**
 * The outcome of one job from the tests of its file, or null when none of them is there.
 * `infraMessage` is used when some test did not run (the report's top-level errors).
 */
export function outcomeFromTests(
  job: RunnerJob,
  tests: FlatTest[],
  opts: ParseOptions & { infraMessage?: string },
): TestOutcome | null {
  if (tests.length === 0) return null;
  const verdicts = tests.map(verdict);
  const durationMs = Math.round(
    tests.reduce((sum, t) => sum + (t.results.at(-1)?.duration ?? 0), 0),
  );
  const artifacts: TestOutcome["artifacts"] = [];
  for (const test of tests) {
    for (const a of test.results.at(-1)?.attachments ?? []) {
      if (!a.path || a.name === "error-context") continue;
      artifacts.push({
        name: a.name,
        path: a.path,
        ...(a.contentType ? { content_type: a.contentType } : {}),
      });
    }
  }
  const base = { jobId: job.id, durationMs, artifacts };

  const bad = verdicts.findIndex((v) => v === "failed" || v === "timed_out");
  if (bad >= 0) {
    const test = tests[bad]!;
    const result = test.results.at(-1)!;
    const first = result.errors?.[0] ?? result.error;
    const raw = result.error?.message ?? first?.message;
    const where = errorPlace(first?.location ?? result.error?.location, test);
    const status: OutcomeStatus = verdicts[bad] === "failed" ? "failed" : "timed_out";
    return {
      ...base,
      status,
      message: clip(`${test.title}: ${raw ? stripAnsi(raw) : status.replace("_", " ")}`),
      file: relativeToProject(opts.projectDir, where.file),
      line: where.line,
    };
  }
  if (verdicts.includes("not_run")) {
    return {
      ...base,
      status: "error",
      message: opts.infraMessage ?? `did not finish: ${job.testPath}`,
      ...(opts.logTail ? { logTail: opts.logTail } : {}),
    };
  }
  if (verdicts.every((v) => v === "skipped")) {
    return {
      ...base,
      status: "passed",
      message: `skipped: ${tests.map((t) => t.title).join(", ")}`,
    };
  }
  return { ...base, status: "passed" };
}

/** Groups tests by absolute file. */
export function testsByFile(tests: FlatTest[]): Map<string, FlatTest[]> {
  const byFile = new Map<string, FlatTest[]>();
  for (const t of tests) {
    const list = byFile.get(t.file);
    if (list) list.push(t);
    else byFile.set(t.file, [t]);
  }
  return byFile;
}

/** An `error` outcome for a job the framework said nothing about. */
export function errorOutcome(job: RunnerJob, message: string, logTail?: string): TestOutcome {
  return {
    jobId: job.id,
    status: "error",
    durationMs: 0,
    message: clip(message),
    ...(logTail ? { logTail } : {}),
    artifacts: [],
  };
}

/**
 * One outcome per job, in the jobs' order. `report` is the parsed JSON report, or null/undefined
 * when the invocation left none.
 */
export function parseAppwrightReport(
  report: PlaywrightJsonReport | null | undefined,
  jobs: RunnerJob[],
  opts: ParseOptions,
): TestOutcome[] {
  if (!report || typeof report !== "object") {
    const lastLine = opts.logTail
      ?.split("\n")
      .map((l) => stripAnsi(l).trim())
      .filter(Boolean)
      .at(-1);
    const message = `AppWright left no report${lastLine ? `: ${lastLine}` : ""}`;
    return jobs.map((job) => errorOutcome(job, message, opts.logTail));
  }
  const byFile = testsByFile(flattenReport(report, opts));
  const infraMessage = reportErrors(report);
  return jobs.map((job) => {
    const tests = byFile.get(fileKey(opts.projectDir, job.testPath)) ?? [];
    return (
      outcomeFromTests(job, tests, { ...opts, infraMessage }) ??
      errorOutcome(
        job,
        infraMessage ?? `no test ran for ${job.testPath} (file missing, or no tests in it)`,
        opts.logTail,
      )
    );
  });
}
