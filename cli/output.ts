/**
 * Human output of the client commands: the job table of `qgjob status`, what `qgjob submit`
 * prints and the summary at the end of a wait. Pure functions: data in, text out.
 */
import type { Job, RunWithJobs } from "../api/schemas.js";
import { isFailed, isFailedStatus, isFinished } from "../api/status.js";
import { duration, failureText, jobLine } from "../report/job-line.js";
import { formatTally, tally, type JobView } from "../report/tally.js";
import { EXIT } from "./exit-codes.js";

/** Exit code for what a run or job looks like now: informational, so unfinished is 0. */
export function exitCodeFor(status: string): number {
  return isFailedStatus(status) || status === "cancelled" ? EXIT.testsFailed : EXIT.passed;
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
