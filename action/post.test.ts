import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client.js";
import { memoryLog } from "./log.js";
import { cleanUp } from "./post.js";

function deps(state: Record<string, string>, fail = false) {
  const cancelled: string[] = [];
  const log = memoryLog();
  return {
    cancelled,
    log,
    deps: {
      state: (name: string) => state[name] ?? "",
      client: () => ({
        cancelRun: async (id: string) => {
          if (fail) throw new ApiError("network", "POST", "http://x/api", null, "x", "refused");
          cancelled.push(id);
          return {} as never;
        },
      }),
      log,
    },
  };
}

describe("the post step", () => {
  it("cancels the run when the main step did not finish", async () => {
    const d = deps({ started: "true", "run-id": "run_1" });
    expect(await cleanUp(d.deps)).toBe(true);
    expect(d.cancelled).toEqual(["run_1"]);
    expect(d.log.lines).toEqual([
      "qgjob: the main step did not finish; cancelling run run_1",
      "qgjob: cancelled run run_1 on the server",
    ]);
  });

  it("does nothing when the main step finished (also with wait: false) or submitted nothing", async () => {
    const states: Record<string, string>[] = [
      { "run-id": "run_1", finished: "true" },
      { started: "true" },
    ];
    for (const state of states) {
      const d = deps(state);
      expect(await cleanUp(d.deps)).toBe(false);
      expect(d.cancelled).toEqual([]);
      expect(d.log.lines).toEqual([]);
    }
  });

  it("a cancel that fails is a warning, not a failed job", async () => {
    const d = deps({ "run-id": "run_1" }, true);
    expect(await cleanUp(d.deps)).toBe(false);
    expect(d.log.lines[1]).toMatch(/^warning: could not cancel run run_1: qgjob: /);
  });
});
