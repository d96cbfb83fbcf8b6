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
} as ActionInputs;
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
    const local = runRequest({ ...inputs, device: "Pixel 7" }, githubContext({}), ["a"]);
    expect(local).toMatchObject({ device: "Pixel 7", source: "action" });
    expect(local).not.toHaveProperty("repo");
  });

  it("sends the idempotency key, sets run-id, and hands the run to the signal watch", async () => {
    const sent: [SubmitRunRequest, string | undefined][] = [];
    const cancelled: string[] = [];
    const run = runOf([job({ test_path: "a.spec.ts", status: "queued" })]);
    const outputs: Record<string, string> = {};
    const log = memoryLog();
    const plan = {
      inputs,
      ctx: githubContext(env),
      root: testRoot("/ws", "."),
      tests: ["a.spec.ts"],
      client: {
        submitRun: async (req: SubmitRunRequest, key?: string) => (sent.push([req, key]), run),
        cancelRun: async (id: string) => void cancelled.push(id),
      },
      io: { log, setOutput: (n: string, v: string) => void (outputs[n] = v) },
    } as unknown as Plan;
    const stop = new CancelOnSignal({ log, source: { on() {}, off() {} } });
    expect(await submit(plan, stop)).toBe(run);
    expect(sent[0]![1]).toMatch(/^gha:qualgent\/demo:9:1:-:-:[0-9a-f]{16}$/);
    expect(outputs).toEqual({ "run-id": "run_0000000001" });
    expect(log.lines).toEqual([
      "qgjob: run run_0000000001: 1 test of app version v1 on device, queued",
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
