/**
 * Human output of the client commands: counts, one line per finished job, the job table of
 * `qgjob status` and the summary at the end of a wait. Pure functions: data in, text out.
 */
import type { Job, RunCounts, RunWithJobs } from "../api/schemas.js";
import { formatClock, formatDuration } from "./duration.js";
import { EXIT } from "./exit-codes.js";

/** The parts of a job the output needs (a full `Job` fits). */
export type JobView = Pick<
  Job,
  "id" | "test_path" | "status" | "flaky" | "attempts" | "duration_ms" | "result"
>;

export interface Tally {
  total: number;
  queued: number;
  /** Leased or running. */
  running: number;
  passed: number;
  /** Failed, error or timed out. */
  failed: number;
  flaky: number;
  cancelled: number;
}

export function tally(jobs: readonly JobView[]): Tally {
  const t: Tally = {
    total: jobs.length,
    queued: 0,
    running: 0,
    passed: 0,
    failed: 0,
    flaky: 0,
    cancelled: 0,
  };
  for (const job of jobs) {
    if (job.flaky) t.flaky++;
    switch (job.status) {
      case "queued":
        t.queued++;
        break;
      case "leased":
      case "running":
        t.running++;
        break;
      case "passed":
        t.passed++;
        break;
      case "cancelled":
        t.cancelled++;
        break;
      default:
        t.failed++;
    }
  }
  return t;
}

/** `3 queued · 1 running · 2 passed · 0 failed · 0 flaky`, plus cancelled when there are any. */
export function formatTally(t: Tally): string {
  const parts = [
    `${t.queued} queued`,
    `${t.running} running`,
    `${t.passed} passed`,
    `${t.failed} failed`,
    `${t.flaky} flaky`,
  ];
  if (t.cancelled > 0) parts.push(`${t.cancelled} cancelled`);
  return parts.join(" · ");
}

/** `[00:12] 3 queued · …` */
export function statusLine(t: Tally, elapsedMs: number): string {
  return `[${formatClock(elapsedMs)}] ${formatTally(t)}`;
}

export const FAILED_STATUSES: ReadonlySet<string> = new Set(["failed", "error", "timed_out"]);
export const isFailed = (job: Pick<Job, "status">) => FAILED_STATUSES.has(job.status);
export const isFinished = (job: Pick<Job, "status">) =>
  FAILED_STATUSES.has(job.status) || job.status === "passed" || job.status === "cancelled";

/** What went wrong: the message's first line and where AppWright saw it, `msg (file:line)`. */
export function failureText(job: Pick<JobView, "status" | "result">, maxMessage = 200): string {
  const r = job.result;
  const first = (r?.message ?? "").split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  let message = first.trim();
  if (message.length > maxMessage) message = message.slice(0, maxMessage - 1) + "…";
  const where = r?.file ? (r.line !== null ? `${r.file}:${r.line}` : r.file) : "";
  if (!message && !where) return job.status === "passed" ? "" : job.status.replace("_", " ");
  return where ? (message ? `${message} (${where})` : `(${where})`) : message;
}

const duration = (job: JobView) =>
  job.duration_ms === null ? "" : formatDuration(job.duration_ms);

/**
 * One line for a job that ended:
 * `✓ tests/a.spec.js 4.2s`, `✗ tests/b.spec.js 1.0s  expected 1 to be 2 (tests/b.spec.js:7)`.
 */
export function jobLine(job: JobView): string {
  const took = duration(job);
  const head = (mark: string, extra = "") =>
    [mark, job.test_path, extra, took].filter(Boolean).join(" ");
  switch (job.status) {
    case "passed":
      return head("✓") + (job.flaky ? ` (flaky: passed on attempt ${job.attempts})` : "");
    case "cancelled":
      return head("-", "cancelled");
    case "failed":
      return `${head("✗")}  ${failureText(job)}`;
    case "error":
    case "timed_out": {
      const why = failureText(job);
      const label = job.status.replace("_", " ");
      return why === label ? head("✗", label) : `${head("✗", label)}  ${why}`;
    }
    default:
      return head("…", job.status);
  }
}

/** Exit code for what a run or job looks like now: informational, so unfinished is 0. */
export function exitCodeFor(status: string): number {
  return FAILED_STATUSES.has(status) || status === "cancelled" ? EXIT.testsFailed : EXIT.passed;
}

/** A plain text table: columns padded to their widest cell, the last one left ragged. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function jobTable(jobs: readonly JobView[]): string {
  return table(
    ["JOB", "TEST", "STATUS", "ATTEMPTS", "DURATION", "FLAKY", "FAILURE"],
    jobs.map((j) => [
      j.id,
      j.test_path,
      j.status,
      String(j.attempts),
      duration(j),
      j.flaky ? "yes" : "",
      j.status === "passed" ? "" : isFinished(j) ? failureText(j) : "",
    ]),
  );
}

/** `qgjob status --run-id`: a header line, then the job table. */
export function formatRun(run: RunWithJobs): string {
  const when = run.finished_at ? `finished ${run.finished_at}` : `created ${run.created_at}`;
  const t = tally(run.jobs);
  return (
    `run ${run.id}  ${run.status}  ${t.total} ${t.total === 1 ? "job" : "jobs"} · ` +
    `${formatTally(t)}  (${when})\n\n${jobTable(run.jobs)}\n`
  );
}

/** `qgjob status --job-id`: a header line, then a one-row table. */
export function formatJob(job: Job): string {
  return `job ${job.id}  ${job.status}  (run ${job.run_id}, ${job.target}, app ${job.app_version_id})\n\n${jobTable([job])}\n`;
}

/** What `qgjob submit` prints without --wait. */
export function formatSubmitted(run: RunWithJobs): string {
  const n = run.jobs.length;
  const lines = [`run ${run.id}  ${n} ${n === 1 ? "job" : "jobs"} ${run.status}`];
  const width = Math.max(...run.jobs.map((j) => j.id.length));
  for (const j of run.jobs) lines.push(`job ${j.id.padEnd(width)}  ${j.test_path}`);
  return lines.join("\n") + "\n";
}

/**
 * The end of a wait: the headline (outcome, time, counts), then each failure with file:line and
 * each flaky pass.
 */
export function formatSummary(headline: string, jobs: readonly JobView[]): string {
  const lines = [`${headline}: ${formatTally(tally(jobs))}`];
  const failures = jobs.filter(isFailed);
  if (failures.length > 0) {
    lines.push(`Failures (${failures.length}):`);
    for (const j of failures) lines.push(`  ${jobLine(j)}`);
  }
  const flaky = jobs.filter((j) => j.flaky && j.status === "passed");
  if (flaky.length > 0) {
    lines.push(`Flaky (${flaky.length}):`);
    for (const j of flaky) lines.push(`  ${jobLine(j)}`);
  }
  return lines.join("\n") + "\n";
}

/** The server's run counts in the CLI's five buckets (for answers without the jobs). */
export function tallyFromCounts(c: RunCounts): Tally {
  return {
    total: c.total,
    queued: c.queued,
    running: c.leased + c.running,
    passed: c.passed,
    failed: c.failed + c.error + c.timed_out,
    flaky: c.flaky,
    cancelled: c.cancelled,
  };
}
