import { describe, expect, it } from "vitest";
import type { SubmitRunRequest } from "../api/schemas.js";
import { CancelOnSignal } from "./cancel.js";
import { githubContext } from "./context.js";
import type { ActionInputs } from "./inputs.js";
import { memoryLog } from "./log.js";
import type { Plan } from "./plan.js";
import { runRequest, submit } from "./submit.js";
import { finishedJob as job, runOf } from "../api/testing.js";
import { testRoot } from "./tests.js";

const inputs = {
  orgId: "acme",
  appVersionId: "v1",
  target: "device",
  device: undefined,
  priority: 7,
  retries: 1,
  maxAttempts: undefined,
  testTimeoutS: undefined,
  tags: [],
} as unknown as ActionInputs;
const env = {
  GITHUB_REPOSITORY: "qualgent/demo",
  GITHUB_SHA: "abc",
  GITHUB_REF: "refs/pull/7/merge",
  GITHUB_RUN_ID: "9",
};

describe("submitting", () => {
  it("asks for the tests with the options and where the run came from", () => {
    expect(runRequest(inputs, githubContext(env), ["a.spec.ts"])).toEqual({
      org_id: "acme",
      app_version_id: "v1",
      tests: ["a.spec.ts"],
      target: "device",
      priority: 7,
      retries: 1,
      source: "action",
      repo: "qualgent/demo",
      sha: "abc",
      ref: "refs/pull/7/merge",
    });
    const options = { maxAttempts: 2, testTimeoutS: 90, tags: ["@smoke", "@login"] };
    expect(runRequest({ ...inputs, ...options }, githubContext({}), ["a"])).toMatchObject({
      max_attempts: 2,
      timeout_s: 90,
      tags: ["@smoke", "@login"],
    });
    const local = runRequest({ ...inputs, device: "Pixel 7" }, githubContext({}), ["a"]);
    expect(local).toMatchObject({ device: "Pixel 7", source: "action" });
    expect(local).not.toHaveProperty("repo");
    expect(local).not.toHaveProperty("supersede");
    // cancel-in-progress: the run supersedes the ref's earlier ones (the server needs repo and ref).
    const superseding = runRequest({ ...inputs, cancelInProgress: true }, githubContext(env), [
      "a",
    ]);
    expect(superseding).toMatchObject({
      supersede: true,
      repo: "qualgent/demo",
      ref: env.GITHUB_REF,
    });
  });

  it("sends the idempotency key, sets run-id, and hands the run to the signal watch", async () => {
    const sent: [SubmitRunRequest, string | undefined][] = [];
    const cancelled: string[] = [];
    const run = runOf([job({ test_path: "a.spec.ts", status: "queued" })]);
    const outputs: Record<string, string> = {};
    const state: Record<string, string> = {};
    const log = memoryLog();
    const plan = {
      inputs: { ...inputs, serverUrl: "https://qgjob.example.com" },
      ctx: githubContext(env),
      root: testRoot("/ws", "."),
      tests: ["a.spec.ts"],
      files: { bundleDir: undefined, buildFile: undefined },
      client: {
        submitRun: async (req: SubmitRunRequest, key?: string) => (sent.push([req, key]), run),
        cancelRun: async (id: string) => void cancelled.push(id),
      },
      io: {
        log,
        setOutput: (n: string, v: string) => void (outputs[n] = v),
        saveState: (n: string, v: string) => void (state[n] = v),
      },
    } as unknown as Plan;
    const stop = new CancelOnSignal({ log, source: { on() {}, off() {} } });
    expect(await submit(plan, stop)).toBe(run);
    expect(sent[0]![1]).toMatch(/^gha:qualgent\/demo:9:1:-:-:[0-9a-f]{16}$/);
    expect(outputs).toEqual({
      "run-id": "run_0000000001",
      "run-url": "https://qgjob.example.com/runs/run_0000000001",
    });
    // The post step cancels this run if the step is killed before it finishes.
    expect(state).toEqual({ "run-id": "run_0000000001" });
    expect(log.lines).toEqual([
      "qgjob: no test bundle (bundle: false): agents run the tests of their own checkout",
      "qgjob: run run_0000000001: 1 test of app version v1 on device, queued",
      "qgjob: run run_0000000001: https://qgjob.example.com/runs/run_0000000001",
    ]);
    // A signal now cancels the submitted run.
    (stop as unknown as { onSignal(s: string): void }).onSignal("SIGTERM");
    await stop.release();
    expect(cancelled).toEqual(["run_0000000001"]);
  });

  it("does not submit once the step was stopped", async () => {
    const stop = new CancelOnSignal({ log: memoryLog(), source: { on() {}, off() {} } });
    stop.received = "SIGINT";
    await expect(submit({} as Plan, stop)).rejects.toThrow("stopped by SIGINT before submitting");
  });
});
