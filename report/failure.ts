/** One failed test told as an annotation (a title, the runner's message, the file and line), or in full. */
import type { Job } from "../api/schemas.js";
import { jobLocation, type RepoPrefix } from "./location.js";
import { clip, statusLabel, stripAnsi } from "./text.js";

export interface Failure {
  title: string;
  message: string;
  file: string;
  line: number | null;
}

export function describeFailure(job: Job, root: RepoPrefix): Failure {
  const { file, line } = jobLocation(job, root);
  const text = stripAnsi(job.result?.message ?? "").trim();
  const attempts = job.attempts > 1 ? ` after ${job.attempts} attempts` : "";
  return {
    title: `${job.test_path} ${statusLabel(job.status)}${attempts}`,
    message: text ? clip(text, 4000, 30) : `${job.test_path}: ${statusLabel(job.status)}`,
    file,
    line,
  };
}

/**
 * The failure in full, for logs and JUnit: the message, where, and the last lines printed
 * (unless `output` is false: JUnit puts them in the test's system-out).
 */
export function failureBody(job: Job, root: RepoPrefix, opts = { output: true }): string {
  const { file, line } = jobLocation(job, root);
  const tail = stripAnsi(job.result?.log_tail ?? "").trim();
  return [
    stripAnsi(job.result?.message ?? "").trim() || statusLabel(job.status),
    `at ${line !== null ? `${file}:${line}` : file}`,
    opts.output && tail ? `--- output (last lines) ---\n${tail}` : "",
  ]
    .filter(Boolean)
    .join("\n\n");
}
