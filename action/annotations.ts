/**
 * Annotations, so that what went wrong shows on the pull request's diff and the run page:
 *
 * - a test that failed gets an error at the file and line AppWright reported;
 * - jobs that could not run (`error`: a build not found, a lost agent) are the infrastructure's
 *   fault, not the test file's: one step-level error lists them, on no file;
 * - a flaky pass (failed, then passed on a retry) gets a warning at its file;
 * - a quarantined test's failure gets a warning at its file, saying when the quarantine ends: it
 *   fails no run.
 *
 * GitHub keeps 10 error annotations per step and the verdict (core.setFailed) is one of them, so
 * at most 9 come from here; the job summary lists every failure. Warnings have their own 10.
 */
import type { AnnotationProperties } from "@actions/core";
import type { Job } from "../api/schemas.js";
import { failsRun, isFailed, isQuarantined } from "../api/status.js";
import { jobLocation } from "../report/location.js";
import type { Log } from "./log.js";
import { describeFailure } from "../report/failure.js";
import { clip, plural, quarantinedLabel, stripAnsi } from "../report/text.js";
import type { TestRoot } from "./tests.js";

/** Per step, per level (GitHub's limit). */
export const MAX_ANNOTATIONS = 10;
/** Error annotations left for the failures once the verdict has its one. */
export const MAX_FAILURE_ANNOTATIONS = MAX_ANNOTATIONS - 1;

export interface Annotation {
  message: string;
  properties: AnnotationProperties & { title: string };
}

export interface Annotate {
  error(message: string, properties: AnnotationProperties): void;
  warning(message: string, properties: AnnotationProperties): void;
}

export const isInfrastructureError = (job: Pick<Job, "status">) => job.status === "error";

export function failureAnnotation(job: Job, root: TestRoot): Annotation {
  const { title, message, file, line } = describeFailure(job, root);
  return { message, properties: { title, file, ...(line !== null ? { startLine: line } : {}) } };
}

/** One annotation for every job that could not run, grouped by what the agents said. */
export function infrastructureAnnotation(jobs: readonly Job[]): Annotation {
  const byReason = new Map<string, string[]>();
  for (const job of jobs) {
    const first =
      stripAnsi(job.result?.message ?? "")
        .trim()
        .split(/\r?\n/)[0] || "no reason given";
    byReason.set(first, [...(byReason.get(first) ?? []), job.test_path]);
  }
  const lines = [...byReason].map(([reason, paths]) => `${reason}: ${paths.join(", ")}`);
  return {
    message: clip(lines.join("\n"), 4000, 30),
    properties: {
      title: `${plural(jobs.length, "test")} could not run (an infrastructure error, not the test)`,
    },
  };
}

export function flakyAnnotation(job: Job, root: TestRoot): Annotation {
  const { file } = jobLocation(job, root);
  return {
    message: `${job.test_path} failed, then passed on attempt ${job.attempts}`,
    properties: { title: `${job.test_path} is flaky`, file },
  };
}

export function quarantinedAnnotation(job: Job, root: TestRoot): Annotation {
  const a = failureAnnotation(job, root);
  return {
    message: a.message,
    properties: { ...a.properties, title: `${job.test_path}: ${quarantinedLabel(job)}` },
  };
}

/**
 * Annotates failures, then quarantined failures and flaky passes, within GitHub's limits;
 * answers how many failed the run.
 */
export function annotate(jobs: readonly Job[], root: TestRoot, emit: Annotate, log: Log): number {
  const failed = jobs.filter(failsRun);
  const infra = failed.filter(isInfrastructureError);
  const tests = failed.filter((j) => !isInfrastructureError(j));
  const room = MAX_FAILURE_ANNOTATIONS - (infra.length > 0 ? 1 : 0);
  for (const job of tests.slice(0, room)) {
    const a = failureAnnotation(job, root);
    emit.error(a.message, a.properties);
  }
  if (infra.length > 0) {
    const a = infrastructureAnnotation(infra);
    emit.error(a.message, a.properties);
  }
  if (tests.length > room) {
    log.info(
      `qgjob: annotated the first ${room} of ${plural(tests.length, "failed test")} ` +
        `(GitHub shows ${MAX_ANNOTATIONS} errors per step, the verdict included); the job summary lists them all`,
    );
  }
  const warnings = [
    ...jobs.filter(isQuarantined).map((job) => quarantinedAnnotation(job, root)),
    ...jobs.filter((j) => j.flaky && !isFailed(j)).map((job) => flakyAnnotation(job, root)),
  ];
  for (const a of warnings.slice(0, MAX_ANNOTATIONS)) emit.warning(a.message, a.properties);
  return failed.length;
}
