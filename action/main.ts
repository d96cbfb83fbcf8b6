/**
 * The Action: prepare (inputs, tests) -> submit -> wait -> report. Each step is its own module;
 * whatever goes wrong ends as one ::error:: line.
 */
import * as core from "@actions/core";
import { CancelOnSignal } from "./cancel.js";
import { errorLine } from "./errors.js";
import { coreLog } from "./log.js";
import { prepare } from "./plan.js";
import { report } from "./report.js";
import { submit } from "./submit.js";
import { waitForOutcome } from "./wait.js";

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const stop = new CancelOnSignal({ log: coreLog }).arm();
  try {
    const plan = await prepare(env);
    const submitted = await submit(plan, stop);
    if (plan.inputs.wait) await report(plan, await waitForOutcome(plan, submitted, stop));
  } catch (err) {
    core.debug(err instanceof Error ? (err.stack ?? err.message) : String(err));
    core.setFailed(errorLine(err));
  } finally {
    await stop.release();
  }
}
