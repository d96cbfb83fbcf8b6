import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { CancelOnSignal } from "./cancel.js";
import { memoryLog } from "./log.js";

function setup(graceMs = 50) {
  const source = new EventEmitter();
  const exits: number[] = [];
  const log = memoryLog();
  const stop = new CancelOnSignal({
    log,
    source: source as never,
    exit: (code) => void exits.push(code),
    graceMs,
  }).arm();
  return { source, exits, log, stop };
}

describe("cancel on signal", () => {
  it("cancels the watched run on SIGINT, once, and lets the step report", async () => {
    const { source, exits, log, stop } = setup(10_000);
    const cancelled: string[] = [];
    stop.watch("run_1", async () => void cancelled.push("run_1"));
    source.emit("SIGINT", "SIGINT");
    source.emit("SIGTERM", "SIGTERM");
    await stop.release();
    expect(stop.received).toBe("SIGINT");
    expect(cancelled).toEqual(["run_1"]);
    expect(log.lines).toEqual([
      "qgjob: SIGINT received (the workflow was cancelled or the job timed out)",
      "qgjob: cancelled run run_1 on the server",
    ]);
    expect(exits).toEqual([]);
    expect(source.listenerCount("SIGINT") + source.listenerCount("SIGTERM")).toBe(0);
  });

  it("remembers a signal that comes before the run is known, and cancels it then", async () => {
    const { source, log, stop } = setup(10_000);
    source.emit("SIGTERM", "SIGTERM");
    expect(log.lines).toEqual([
      "qgjob: SIGTERM received (the workflow was cancelled or the job timed out); no run submitted yet",
    ]);
    let cancelled = false;
    stop.watch("run_2", async () => void (cancelled = true));
    await stop.settled();
    expect(cancelled).toBe(true);
    stop.disarm();
  });

  it("says so when the cancel fails, and exits if the step does not end in time", async () => {
    const { source, exits, log, stop } = setup(30);
    stop.watch("run_3", async () => {
      throw new Error("cannot reach the server");
    });
    source.emit("SIGINT", "SIGINT");
    await stop.settled();
    expect(log.lines[1]).toBe(
      "warning: qgjob: could not cancel run run_3: cannot reach the server",
    );
    await new Promise((r) => setTimeout(r, 80));
    expect(exits).toEqual([1]);
    stop.disarm();
  });

  it("does nothing without a signal", async () => {
    const { exits, log, stop } = setup(10);
    stop.watch("run_4", async () => {
      throw new Error("must not be called");
    });
    await stop.release();
    await new Promise((r) => setTimeout(r, 30));
    expect(stop.received).toBeNull();
    expect(log.lines).toEqual([]);
    expect(exits).toEqual([]);
  });
});
