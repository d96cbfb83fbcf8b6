/**
 * A job as a run's job list carries it: the row without its result's big fields. The message is
 * cut to its first line (what a table shows); the log tail and the artifacts are left to the job
 * view (`getJob`), and `artifacts_count` says how many it holds. Engines read only the head of the
 * message and the artifacts' count from the database, so a run of 5,000 maximum-size results
 * costs kilobytes per job, not the results.
 */
import type { JobRecord, StoredResult } from "./store.js";

/** How much of a message the engines read: enough to find its first non-empty line. */
export const MESSAGE_HEAD_CHARS = 2048;
/** The longest first line a summary keeps. */
export const SUMMARY_LINE_CHARS = 500;

/** The result columns an engine reads in place of the whole result. */
export interface ResultHead {
  hasResult: boolean;
  messageHead: string | null;
  file: string | null;
  line: number | null;
  artifactsCount: number | null;
  artifactsDropped: number | null;
}

export function firstLine(message: string): string {
  const line = message.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  const trimmed = line.trim();
  return trimmed.length > SUMMARY_LINE_CHARS
    ? trimmed.slice(0, SUMMARY_LINE_CHARS - 1) + "…"
    : trimmed;
}

export function summaryResult(head: ResultHead): StoredResult | null {
  if (!head.hasResult) return null;
  const result: StoredResult = {
    message: head.messageHead === null ? null : firstLine(head.messageHead),
    file: head.file,
    line: head.line === null ? null : Number(head.line),
    artifacts: [],
    artifacts_count: Number(head.artifactsCount ?? 0),
    truncated: true,
  };
  if (head.artifactsDropped !== null) result.artifacts_dropped = Number(head.artifactsDropped);
  return result;
}

/** A row read with a ResultHead in place of its result, as a JobRecord with a summary result. */
export function summaryJob(row: Omit<JobRecord, "result"> & ResultHead): JobRecord {
  const { hasResult, messageHead, file, line, artifactsCount, artifactsDropped, ...job } = row;
  return {
    ...job,
    result: summaryResult({ hasResult, messageHead, file, line, artifactsCount, artifactsDropped }),
  };
}

/** The same summary made from a whole row (a read that had the results anyway). */
export function summarizeJob(job: JobRecord): JobRecord {
  const r = job.result;
  if (!r || r.truncated) return job;
  return {
    ...job,
    result: summaryResult({
      hasResult: true,
      messageHead: r.message,
      file: r.file,
      line: r.line,
      artifactsCount: r.artifacts.length,
      artifactsDropped: r.artifacts_dropped ?? null,
    }),
  };
}
