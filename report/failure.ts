/** One failed test told as an annotation: a title, the runner's message, the file and line. */
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
