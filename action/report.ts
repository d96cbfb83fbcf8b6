/**
 * Everything the step leaves behind once the wait is over: the JUnit file, a log group per
 * failed test with its output, annotations, the job summary, the outputs, and the verdict (the
 * step fails with one line, or passes).
 * Reporting problems (a summary or JUnit file that cannot be written) are warnings: the verdict
 * is what matters.
 */
import { dirname, join, resolve } from "node:path";
import type { QgjobClient } from "../api/client.js";
import type { Job } from "../api/schemas.js";
import { isFailed, isQuarantined } from "../api/status.js";
import { failureBody } from "../report/failure.js";
import { quarantinedLabel, statusLabel } from "../report/text.js";
import { annotate } from "./annotations.js";
import { ATTACHMENTS_DIR, downloadAttachments } from "./attachments.js";
import { failureEvidence } from "./evidence.js";
import type { Log } from "./log.js";
import { junitXml, writeJunit } from "./junit.js";
import type { Plan } from "./plan.js";
import { resultOutputs, setOutputs } from "./outputs.js";
import { writeSummary } from "./summary.js";
import type { TestRoot } from "./tests.js";
import { dashboardLinks } from "../report/links.js";
import { verdict, type Outcome, type Verdict } from "./verdict.js";

export async function report(
  plan: Pick<Plan, "inputs" | "ctx" | "root" | "io"> & {
    client: Pick<QgjobClient, "listArtifacts" | "downloadArtifact">;
  },
  outcome: Outcome,
): Promise<Verdict> {
  const { inputs, ctx, root, io } = plan;
  const result = verdict(outcome, inputs);
  // Signed links to the failures' evidence, for the JUnit report and the summary alike.
  const evidence = await failureEvidence(plan.client, outcome.run.jobs, inputs.serverUrl, io.log);
  let junitPath: string | null = resolve(ctx.workspace, inputs.junitPath);
  const attachments = inputs.junitAttachments
    ? await downloadAttachments(
        plan.client,
        outcome.run.jobs,
        join(dirname(junitPath), ATTACHMENTS_DIR),
        { workspace: ctx.workspace, log: io.log },
      )
    : undefined;
  try {
    const links = inputs.serverUrl ? dashboardLinks(inputs.serverUrl, outcome.run.id) : null;
    writeJunit(junitPath, junitXml(outcome.run, root, { links, evidence, attachments }));
    io.log.info(`qgjob: JUnit report written to ${junitPath}`);
  } catch (err) {
    io.log.warning(`qgjob: could not write the JUnit report: ${(err as Error).message}`);
    junitPath = null;
  }
  logFailures(outcome.run.jobs, root, io.log);
  annotate(outcome.run.jobs, root, io.annotate, io.log);
  if (io.summary) {
    try {
      await writeSummary(io.summary, outcome, result, root, evidence);
    } catch (err) {
      io.log.warning(`qgjob: could not write the job summary: ${(err as Error).message}`);
    }
  }
  setOutputs(resultOutputs(outcome.run, result.status, junitPath), io.setOutput);
  if (result.ok) io.log.info(`qgjob: ${result.message}`);
  else io.fail(`qgjob: ${result.message}`);
  return result;
}

/** A collapsed group per failed test: what it said, where, and the last lines it printed. */
export function logFailures(jobs: readonly Job[], root: TestRoot, log: Log): void {
  for (const job of jobs.filter(isFailed)) {
    const attempts = job.attempts > 1 ? `, ${job.attempts} attempts` : "";
    const label = isQuarantined(job)
      ? `○ ${job.test_path} ${quarantinedLabel(job)}`
      : `✗ ${job.test_path} ${statusLabel(job.status)}`;
    log.group(`${label}${attempts}`, failureBody(job, root));
  }
}
