/**
 * Error annotations for failed tests, at the file and line AppWright reported, so they show on
 * the pull request's diff and the run page. GitHub shows at most 10 error annotations per step:
 * the first 10 failures get one, and the job summary lists every failure.
 */
import type { AnnotationProperties } from "@actions/core";
import type { Job } from "../api/schemas.js";
import { isFailed } from "../api/status.js";
import type { Log } from "./log.js";
import { describeFailure } from "../report/failure.js";
import { plural } from "../report/text.js";
import type { TestRoot } from "./tests.js";

export const MAX_ANNOTATIONS = 10;

export interface Annotation {
  message: string;
  properties: AnnotationProperties & { title: string; file: string };
}

export function failureAnnotation(job: Job, root: TestRoot): Annotation {
  const { title, message, file, line } = describeFailure(job, root);
  return { message, properties: { title, file, ...(line !== null ? { startLine: line } : {}) } };
}

/** Annotates the first failures; answers how many failures there were. */
export function annotateFailures(
  jobs: readonly Job[],
  root: TestRoot,
  emit: (message: string, properties: AnnotationProperties) => void,
  log: Log,
): number {
  const failed = jobs.filter(isFailed);
  for (const job of failed.slice(0, MAX_ANNOTATIONS)) {
    const a = failureAnnotation(job, root);
    emit(a.message, a.properties);
  }
  if (failed.length > MAX_ANNOTATIONS) {
    log.info(
      `qgjob: annotated the first ${MAX_ANNOTATIONS} of ${plural(failed.length, "failure")} ` +
        `(GitHub shows ${MAX_ANNOTATIONS} per step); the job summary lists them all`,
    );
  }
  return failed.length;
}
