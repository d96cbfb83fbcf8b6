import { describe, expect, it } from "vitest";
import { OUTPUT_NAMES, resultOutputs, setOutputs } from "./outputs.js";
import { failedJob as failed, finishedJob as job, runOf } from "../api/testing.js";
import { readActionYml } from "./testing.js";

describe("outputs", () => {
  it("are the ones action.yml declares", () => {
    expect(readActionYml().outputs).toEqual([...OUTPUT_NAMES]);
  });

  it("count passes (flaky included), failures (errors and timeouts included) and flaky", () => {
    const run = runOf([
      job({ test_path: "a" }),
      job({ test_path: "b", flaky: true }),
      failed("c", "x"),
      job({ test_path: "d", status: "timed_out" }),
      job({ test_path: "e", status: "error" }),
      job({ test_path: "f", status: "cancelled" }),
    ]);
    const values = resultOutputs(run, "failed", "/ws/qgjob-junit.xml");
    expect(values).toEqual({
      "run-id": "run_0000000001",
      status: "failed",
      passed: "2",
      failed: "3",
      flaky: "1",
      "junit-path": "/ws/qgjob-junit.xml",
    });
    const set: Record<string, string> = {};
    setOutputs(values, (n, v) => (set[n] = v));
    expect(set).toEqual(values);
    expect(resultOutputs(run, "failed", null)["junit-path"]).toBe("");
  });
});
