/**
 * The whole results the report needs. A run's job list carries summaries (the message's first
 * line, no output or evidence: see `result.truncated`); the JUnit file and the annotations tell
 * a failure in full, and a flaky pass's output, so those jobs are read again from the job view.
 */
import type { QgjobClient } from "../api/client.js";
import type { Job, RunWithJobs } from "../api/schemas.js";
import { isFailed } from "../api/status.js";

/** Job views read at once. */
const PARALLEL = 8;

const needsWhole = (job: Job) => job.result?.truncated === true && (isFailed(job) || job.flaky);

export async function withWholeResults(
  client: Pick<QgjobClient, "getJob">,
  run: RunWithJobs,
): Promise<RunWithJobs> {
  const wanted = run.jobs.filter(needsWhole);
  if (wanted.length === 0) return run;
  const whole = new Map<string, Job>();
  for (let i = 0; i < wanted.length; i += PARALLEL) {
    const batch = await Promise.all(wanted.slice(i, i + PARALLEL).map((j) => client.getJob(j.id)));
    for (const job of batch) whole.set(job.id, job);
  }
  return { ...run, jobs: run.jobs.map((j) => whole.get(j.id) ?? j) };
}
