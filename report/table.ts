/**
 * The table of a run's tests (status, duration, attempts, flaky, and for failures the message and
 * where), failures first: the Action's job summary and the GitHub App's check runs both show it.
 * Cells are HTML, which both render.
 */
import type { Job } from "../api/schemas.js";
import { failsRun, isFailed, isQuarantined } from "../api/status.js";
import { formatDuration } from "./duration.js";
import { jobLocation, type RepoPrefix } from "./location.js";
import { clip, quarantinedLabel, statusLabel, stripAnsi } from "./text.js";

/** A summary is at most 1 MiB: rows beyond this many are counted, not shown. */
export const MAX_ROWS = 1000;

/** A row in the shape of core.summary.addTable (its type is not exported by @actions/core). */
export type SummaryTableRow = (string | { data: string; header?: boolean })[];

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

/** A quarantined failure's neutral mark: it is shown, but it fails no run. */
const QUARANTINED_ICON = "🔕";

/**
 * Failures first, then quarantined failures, then unfinished or cancelled, then flaky passes,
 * then passes; else as submitted.
 */
function rank(job: Job): number {
  if (failsRun(job)) return 0;
  if (isQuarantined(job)) return 1;
  if (job.status !== "passed") return 2;
  return job.flaky ? 3 : 4;
}

export function sortForSummary(jobs: readonly Job[]): Job[] {
  return jobs
    .map((job, i) => ({ job, i }))
    .sort((a, b) => rank(a.job) - rank(b.job) || a.i - b.i)
    .map(({ job }) => job);
}

function failureCell(job: Job, root: RepoPrefix): string {
  if (!isFailed(job)) return "";
  const { file, line } = jobLocation(job, root);
  const first =
    stripAnsi(job.result?.message ?? "")
      .split(/\r?\n/)
      .find((l) => l.trim() !== "")
      ?.trim() ?? statusLabel(job.status);
  return `${html(clip(first, 300))}<br><code>${html(line !== null ? `${file}:${line}` : file)}</code>`;
}

export function summaryRows(jobs: readonly Job[], root: RepoPrefix): SummaryTableRow[] {
  const header = ["Test", "Status", "Duration", "Attempts", "Flaky", "Failure"].map((data) => ({
    data,
    header: true,
  }));
  const rows = sortForSummary(jobs)
    .slice(0, MAX_ROWS)
    .map((job) => [
      `<code>${html(job.test_path)}</code>`,
      isQuarantined(job)
        ? `${QUARANTINED_ICON} ${html(quarantinedLabel(job))}`
        : `${ICON[job.status]} ${statusLabel(job.status)}`,
      job.duration_ms === null ? "" : formatDuration(job.duration_ms),
      String(job.attempts),
      job.flaky ? "⚠️ yes" : "",
      failureCell(job, root),
    ]);
  return [header, ...rows];
}
