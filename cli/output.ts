/**
 * Human output of the client commands: the job table of `qgjob status`, what `qgjob submit`
 * prints and the summary at the end of a wait. Pure functions: data in, text out.
 */
import type { Job, RunWithJobs } from "../api/schemas.js";
import { failsRun, isFailedStatus, isFinished, isQuarantined } from "../api/status.js";
import { duration, failureText, jobLine } from "../report/job-line.js";
import { formatTally, tally, type JobView } from "../report/tally.js";
import { stripAnsi } from "../report/text.js";
import { EXIT } from "./exit-codes.js";
import { paint, PLAIN, statusColor, when, type Style } from "./style.js";

/** Exit code for what a run or job looks like now: informational, so unfinished is 0. */
export function exitCodeFor(status: string): number {
  return isFailedStatus(status) || status === "cancelled" ? EXIT.testsFailed : EXIT.passed;
}

/**
 * A plain text table: columns padded to their widest cell, the last one left ragged. The
 * columns named in `statusColumns` are coloured by their status word when the style has colour.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style: Style = PLAIN,
  statusColumns: readonly number[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[], colored: boolean) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return colored && statusColumns.includes(i)
          ? padded.replace(c, paint(style, statusColor(c), c))
          : padded;
      })
      .join("  ")
      .trimEnd();
  return [line(header, false), ...rows.map((r) => line(r, true))].join("\n");
}

export function jobTable(jobs: readonly JobView[], style: Style = PLAIN): string {
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
    style,
    [2],
  );
}

/** `qgjob status --run-id`: a header line, then the job table. */
export function formatRun(run: RunWithJobs, style: Style = PLAIN): string {
  const at = run.finished_at
    ? `finished ${when(style, run.finished_at)}`
    : `created ${when(style, run.created_at)}`;
  const t = tally(run.jobs);
  const status = paint(style, statusColor(run.status), run.status);
  const by = run.superseded_by ? `, superseded by run ${run.superseded_by}` : "";
  return (
    `run ${run.id}  ${status}  ${t.total} ${t.total === 1 ? "job" : "jobs"} · ` +
    `${formatTally(t)}  (${at}${by})\n\n${jobTable(run.jobs, style)}\n`
  );
}

/**
 * `qgjob status --job-id`: a header line, a one-row table, then the whole failure message (the
 * table has its first line; the assertion and its diff follow it) and the evidence it left.
 */
export function formatJob(job: Job, style: Style = PLAIN): string {
  const status = paint(style, statusColor(job.status), job.status);
  const agent = job.agent_id ? `, agent ${job.agent_id}` : "";
  const head = `job ${job.id}  ${status}  (run ${job.run_id}, ${job.target}, app ${job.app_version_id}${agent})\n\n${jobTable([job], style)}\n`;
  const r = job.result;
  const message = job.status === "passed" ? "" : stripAnsi(r?.message ?? "").trimEnd();
  const parts = [head];
  if (message.includes("\n")) parts.push(`\n${message}\n`);
  const files = (r?.artifacts ?? []).map((a) =>
    a.missing ? `${a.name} (missing: ${a.missing})` : a.name,
  );
  if (files.length > 0) {
    parts.push(`\nEvidence: ${files.join(", ")}\n`);
  }
  return parts.join("");
}

/** What `qgjob submit` prints without --wait: the run, its page on the dashboard, its jobs. */
export function formatSubmitted(run: RunWithJobs, page: string): string {
  const n = run.jobs.length;
  const lines = [`run ${run.id}  ${n} ${n === 1 ? "job" : "jobs"} ${run.status}`, `page ${page}`];
  const width = Math.max(...run.jobs.map((j) => j.id.length));
  for (const j of run.jobs) lines.push(`job ${j.id.padEnd(width)}  ${j.test_path}`);
  for (const id of run.superseded_runs ?? []) {
    lines.push(`superseded run ${id}: its unfinished jobs are cancelled`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The end of a wait: the headline (outcome, time, counts), then each failure with file:line, each
 * quarantined test's failure and each flaky pass.
 */
export function formatSummary(headline: string, jobs: readonly JobView[]): string {
  const lines = [`${headline}: ${formatTally(tally(jobs))}`];
  const failures = jobs.filter(failsRun);
  if (failures.length > 0) {
    lines.push(`Failures (${failures.length}):`);
    for (const j of failures) lines.push(`  ${jobLine(j)}`);
  }
  const quarantined = jobs.filter(isQuarantined);
  if (quarantined.length > 0) {
    lines.push(`Quarantined, failing no run (${quarantined.length}):`);
    for (const j of quarantined) lines.push(`  ${jobLine(j)}`);
  }
  const flaky = jobs.filter((j) => j.flaky && j.status === "passed");
  if (flaky.length > 0) {
    lines.push(`Flaky (${flaky.length}):`);
    for (const j of flaky) lines.push(`  ${jobLine(j)}`);
  }
  return lines.join("\n") + "\n";
}
