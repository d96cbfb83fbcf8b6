/**
 * Everything the step leaves behind once the wait is over: the JUnit file, error annotations,
 * the job summary, the outputs, and the verdict (the step fails with one line, or passes).
 * Reporting problems (a summary or JUnit file that cannot be written) are warnings: the verdict
 * is what matters.
 */
import { resolve } from "node:path";
import { annotateFailures } from "./annotations.js";
import { junitXml, writeJunit } from "./junit.js";
import type { Plan } from "./plan.js";
import { resultOutputs, setOutputs } from "./outputs.js";
import { writeSummary } from "./summary.js";
import { verdict, type Outcome, type Verdict } from "./verdict.js";

export async function report(
  plan: Pick<Plan, "inputs" | "ctx" | "root" | "io">,
  outcome: Outcome,
): Promise<Verdict> {
  const { inputs, ctx, root, io } = plan;
  const result = verdict(outcome, inputs);
  let junitPath: string | null = resolve(ctx.workspace, inputs.junitPath);
  try {
    writeJunit(junitPath, junitXml(outcome.run, root));
    io.log.info(`qgjob: JUnit report written to ${junitPath}`);
  } catch (err) {
    io.log.warning(`qgjob: could not write the JUnit report: ${(err as Error).message}`);
    junitPath = null;
  }
  annotateFailures(outcome.run.jobs, root, io.annotate, io.log);
  if (io.summary) {
    try {
      await writeSummary(io.summary, outcome, result, root);
    } catch (err) {
      io.log.warning(`qgjob: could not write the job summary: ${(err as Error).message}`);
    }
  }
  setOutputs(resultOutputs(outcome.run, result.status, junitPath), io.setOutput);
  if (result.ok) io.log.info(`qgjob: ${result.message}`);
  else io.fail(`qgjob: ${result.message}`);
  return result;
}
