/**
 * The job summary: a heading with the verdict, a line of counts, and a table of every test
 * (status, duration, attempts, flaky, and for failures the message and where), failures first.
 * It is where the failures beyond the 10 annotations GitHub shows are listed.
 */
import type { Job } from "../api/schemas.js";
import { formatDuration } from "../cli/duration.js";
import { formatTally, isFailed, isFinished, tally } from "../cli/output.js";
import { clip, statusLabel, stripAnsi } from "./text.js";
import { jobLocation, type TestRoot } from "./tests.js";
import type { Outcome, Verdict } from "./verdict.js";

/** A summary is at most 1 MiB: rows beyond this many are counted, not shown. */
export const MAX_ROWS = 1000;

/** A row of core.summary.addTable (its type is not exported by @actions/core). */
export type SummaryTableRow = (string | { data: string; header?: boolean })[];

/** What the summary needs of core.summary (the real one in the Action). */
export interface SummaryWriter {
  addHeading(text: string, level?: number | string): SummaryWriter;
  addRaw(text: string, addEOL?: boolean): SummaryWriter;
  addTable(rows: SummaryTableRow[]): SummaryWriter;
  write(): Promise<unknown>;
}

export const html = (text: string) =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

const ICON: Record<Job["status"], string> = {
  passed: "✅",
  failed: "❌",
  error: "💥",
  timed_out: "⏱️",
  cancelled: "⚪",
  queued: "⏳",
  leased: "⏳",
  running: "⏳",
};

/** Failures first, then unfinished or cancelled, then flaky passes, then passes; else as submitted. */
function rank(job: Job): number {
  if (isFailed(job)) return 0;
  if (job.status !== "passed") return 1;
  return job.flaky ? 2 : 3;
}

export function sortForSummary(jobs: readonly Job[]): Job[] {
  return jobs
    .map((job, i) => ({ job, i }))
    .sort((a, b) => rank(a.job) - rank(b.job) || a.i - b.i)
    .map(({ job }) => job);
}

function failureCell(job: Job, root: TestRoot): string {
  if (!isFailed(job)) return "";
  const { file, line } = jobLocation(job, root);
  const first =
    stripAnsi(job.result?.message ?? "")
      .split(/\r?\n/)
      .find((l) => l.trim() !== "")
      ?.trim() ?? statusLabel(job.status);
  return `${html(clip(first, 300))}<br><code>${html(line !== null ? `${file}:${line}` : file)}</code>`;
}

export function summaryRows(jobs: readonly Job[], root: TestRoot): SummaryTableRow[] {
  const header = ["Test", "Status", "Duration", "Attempts", "Flaky", "Failure"].map((data) => ({
    data,
    header: true,
  }));
  const rows = sortForSummary(jobs)
    .slice(0, MAX_ROWS)
    .map((job) => [
      `<code>${html(job.test_path)}</code>`,
      `${ICON[job.status]} ${statusLabel(job.status)}`,
      job.duration_ms === null ? "" : formatDuration(job.duration_ms),
      String(job.attempts),
      job.flaky ? "⚠️ yes" : "",
      failureCell(job, root),
    ]);
  return [header, ...rows];
}

export async function writeSummary(
  summary: SummaryWriter,
  outcome: Outcome,
  result: Verdict,
  root: TestRoot,
): Promise<void> {
  const { run } = outcome;
  const t = tally(run.jobs);
  const icon = result.ok ? "✅" : outcome.timedOut ? "⏱️" : "❌";
  const facts = [
    `Run <code>${html(run.id)}</code>`,
    `app version <code>${html(run.app_version_ids.join(", "))}</code>`,
    html(run.jobs[0]?.target ?? ""),
    `${formatTally(t)}`,
    `waited ${formatDuration(outcome.elapsedMs)}`,
  ].filter(Boolean);
  summary
    .addHeading(`${icon} qgjob: ${html(result.headline)}`, 3)
    .addRaw(`<p>${facts.join(" · ")}</p>`, true);
  if (!result.ok) summary.addRaw(`<p>${html(result.message)}</p>`, true);
  summary.addTable(summaryRows(run.jobs, root));
  const hidden = run.jobs.length - MAX_ROWS;
  if (hidden > 0) {
    const unfinished = run.jobs.filter((j) => !isFinished(j)).length;
    summary.addRaw(
      `<p>… and ${hidden} more (${unfinished} unfinished); the JUnit report has every test.</p>`,
      true,
    );
  }
  await summary.write();
}
