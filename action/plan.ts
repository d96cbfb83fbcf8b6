/**
 * Everything known before anything is sent: the checked inputs (token masked first), where the
 * step runs, the test root and the resolved tests, and a client for the server.
 */
import * as core from "@actions/core";
import { QgjobClient } from "../api/client.js";
import type { Annotate } from "./annotations.js";
import { githubContext, type GithubContext } from "./context.js";
import { readInputs, type ActionInputs } from "./inputs.js";
import { coreLog, type Log } from "./log.js";
import { runFiles, type RunFiles } from "./run-inputs.js";
import type { SummaryWriter } from "./summary.js";
import { collectTests, testRoot, type TestRoot } from "./tests.js";

/** The step's ways out: log lines, outputs, state for the post step, annotations, the summary, failing. */
export interface Io {
  log: Log;
  setOutput(name: string, value: string): void;
  saveState(name: string, value: string): void;
  annotate: Annotate;
  /** null when GITHUB_STEP_SUMMARY is not set (outside GitHub). */
  summary: SummaryWriter | null;
  fail(message: string): void;
}

export function coreIo(env: NodeJS.ProcessEnv): Io {
  return {
    log: coreLog,
    setOutput: (name, value) => core.setOutput(name, value),
    saveState: (name, value) => core.saveState(name, value),
    annotate: {
      error: (message, properties) => core.error(message, properties),
      warning: (message, properties) => core.warning(message, properties),
    },
    summary: env.GITHUB_STEP_SUMMARY ? core.summary : null,
    fail: (message) => core.setFailed(message),
  };
}

export interface Plan {
  inputs: ActionInputs;
  ctx: GithubContext;
  root: TestRoot;
  tests: string[];
  /** The bundle's folder and the build file to upload (none with run-id). */
  files: RunFiles;
  client: QgjobClient;
  io: Io;
}

/**
 * Inputs, context, tests and the files to upload; nothing is sent yet. With run-id there is
 * nothing to resolve.
 */
export async function prepare(env: NodeJS.ProcessEnv): Promise<Plan> {
  const inputs = readInputs(core.getInput, env, core.setSecret);
  const ctx = githubContext(env);
  const io = coreIo(env);
  if (ctx.mergeSha && !inputs.runId) {
    io.log.info(
      `qgjob: ${env.GITHUB_EVENT_NAME} event: the run reports on the pull request's head commit ` +
        `${ctx.sha}, not GITHUB_SHA ${ctx.mergeSha} (the merge commit GitHub checks out)`,
    );
  }
  const root = testRoot(ctx.workspace, inputs.workingDirectory);
  const submitting = !inputs.runId;
  const files = submitting
    ? runFiles(inputs, root, ctx.workspace)
    : { bundleDir: undefined, buildFile: undefined };
  const tests = submitting ? await collectTests(inputs.tests, root, io.log, inputs.bundle) : [];
  return { inputs, ctx, root, tests, files, client: connect(inputs, io.log), io };
}

/** The API client, saying so when it retries (the server restarting, a network blip). */
export function connect(inputs: Pick<ActionInputs, "serverUrl" | "token">, log: Log): QgjobClient {
  const retries = 4;
  return new QgjobClient({
    baseUrl: inputs.serverUrl,
    token: inputs.token,
    retries,
    userAgent: "qgjob-action",
    onRetry: ({ attempt, delayMs, error }) =>
      log.info(
        `qgjob: ${error.method} ${new URL(error.url).pathname}: ${error.detail}; ` +
          `trying again in ${(delayMs / 1000).toFixed(1)}s (${attempt}/${retries})`,
      ),
  });
}
