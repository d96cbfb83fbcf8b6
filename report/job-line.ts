/** One line for a job that ended, and what went wrong with it: the CLI and the Action print these. */
import { isQuarantined } from "../api/status.js";
import { formatDuration } from "./duration.js";
import { quarantinedLabel } from "./text.js";
import type { JobView } from "./tally.js";

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

export const duration = (job: JobView) =>
  job.duration_ms === null ? "" : formatDuration(job.duration_ms);

/**
 * One line for a job that ended:
 * `✓ tests/a.spec.js 4.2s`, `✗ tests/b.spec.js 1.0s  expected 1 to be 2 (tests/b.spec.js:7)`,
 * `○ tests/c.spec.js quarantined: failed (until 2026-12-21) 1.0s  …` (neutral: it fails no run).
 */
export function jobLine(job: JobView): string {
  const took = duration(job);
  const head = (mark: string, extra = "") =>
    [mark, job.test_path, extra, took].filter(Boolean).join(" ");
  if (isQuarantined(job)) return `${head("○", quarantinedLabel(job))}  ${failureText(job)}`;
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
