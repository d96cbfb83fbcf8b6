import type { AnnotationProperties } from "@actions/core";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { githubContext } from "./context.js";
import type { ActionInputs } from "./inputs.js";
import { memoryLog } from "./log.js";
import type { Io } from "./plan.js";
import { report } from "./report.js";
import { failedJob as failed, finishedJob as job, runOf } from "../api/testing.js";
import { testRoot } from "./tests.js";

function setup(junitPath = "out/junit.xml") {
  const workspace = mkdtempSync(join(tmpdir(), "qgjob-report-"));
  const log = memoryLog();
  const outputs: Record<string, string> = {};
  const annotations: [string, AnnotationProperties][] = [];
  const failures: string[] = [];
  const io: Io = {
    log,
    setOutput: (n, v) => void (outputs[n] = v),
    annotate: (m, p) => void annotations.push([m, p]),
    summary: null,
    fail: (m) => void failures.push(m),
  };
  const inputs = { junitPath, failOnFlaky: false, timeoutMinutes: 60 } as ActionInputs;
  const plan = {
    inputs,
    ctx: githubContext({ GITHUB_WORKSPACE: workspace }),
    root: testRoot(workspace, "."),
    io,
  };
  return { workspace, plan, log, outputs, annotations, failures };
}

const outcome = (run: ReturnType<typeof runOf>) => ({
  run,
  timedOut: false,
  signal: null,
  elapsedMs: 10,
});

describe("report", () => {
  it("writes the JUnit file, annotates, sets the outputs and fails with one line", async () => {
    const s = setup();
    const v = await report(
      s.plan,
      outcome(runOf([job({ test_path: "a.sh" }), failed("b.sh", "boom", "b.sh", 2)])),
    );
    expect(v.ok).toBe(false);
    const junitPath = join(s.workspace, "out/junit.xml");
    expect(readFileSync(junitPath, "utf8")).toContain(
      '<testsuites name="qgjob" tests="2" failures="1"',
    );
    expect(s.annotations).toEqual([["boom", { title: "b.sh failed", file: "b.sh", startLine: 2 }]]);
    expect(s.outputs).toEqual({
      "run-id": "run_0000000001",
      status: "failed",
      passed: "1",
      failed: "1",
      flaky: "0",
      "junit-path": junitPath,
    });
    expect(s.failures).toEqual(["qgjob: 1 test of 2 failed in run run_0000000001: b.sh"]);
  });

  it("passes with an info line; a JUnit file it cannot write is a warning, not a failure", async () => {
    const s = setup("blocked/junit.xml");
    writeFileSync(join(s.workspace, "blocked"), "a file where a folder should be");
    const v = await report(s.plan, outcome(runOf([job({ test_path: "a.sh" })])));
    expect(v.ok).toBe(true);
    expect(s.failures).toEqual([]);
    expect(s.outputs["junit-path"]).toBe("");
    expect(s.log.lines[0]).toMatch(/^warning: qgjob: could not write the JUnit report: /);
    expect(s.log.lines.at(-1)).toMatch(/^qgjob: run run_0000000001 passed: /);
  });
});
