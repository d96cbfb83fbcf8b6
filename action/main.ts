/**
 * The Action: prepare (inputs, tests) -> submit (or attach to run-id) -> wait -> report. Each
 * step is its own module; whatever goes wrong ends as one ::error:: line. The same bundle is the
 * post step (action.yml `runs.post`): the state the main step saves tells the two apart.
 */
import * as core from "@actions/core";
import { CancelOnSignal } from "./cancel.js";
import { errorLine } from "./errors.js";
import { readInputs } from "./inputs.js";
import { coreLog } from "./log.js";
import { connect, prepare } from "./plan.js";
import { cleanUp } from "./post.js";
import { report } from "./report.js";
import { submit } from "./submit.js";
import { attach, STATE } from "./track.js";
import { waitForOutcome } from "./wait.js";

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  core.saveState(STATE.started, "true");
  const stop = new CancelOnSignal({ log: coreLog }).arm();
  try {
    const plan = await prepare(env);
    const { runId } = plan.inputs;
    const run = runId ? await attach(plan, runId, stop) : await submit(plan, stop);
    if (plan.inputs.wait) await report(plan, await waitForOutcome(plan, run, stop));
  } catch (err) {
    core.debug(err instanceof Error ? (err.stack ?? err.message) : String(err));
    core.setFailed(errorLine(err));
  } finally {
    await stop.release();
    core.saveState(STATE.finished, "true");
  }
}

export async function post(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await cleanUp({
    state: (name) => core.getState(name),
    client: () => connect(readInputs(core.getInput, env, core.setSecret), coreLog),
    log: coreLog,
  });
}

/** The post step runs the same bundle, after the main step saved `started`. */
export const isPost = () => core.getState(STATE.started) !== "";
