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
    saveState: () => undefined,
    annotate: { error: (m, p) => void annotations.push([m, p]), warning: () => undefined },
    summary: null,
    fail: (m) => void failures.push(m),
  };
  const inputs = { junitPath, failOnFlaky: false, timeoutMinutes: 60 } as ActionInputs;
  const plan = {
    inputs,
    ctx: githubContext({ GITHUB_WORKSPACE: workspace }),
    root: testRoot(workspace, "."),
    io,
    // No summary here, so no evidence links are asked for.
    client: {
      listArtifacts: () => Promise.reject(new Error("not asked")),
      downloadArtifact: () => Promise.reject(new Error("not asked")),
    },
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

  it("logs a collapsed group per failed test with its output's last lines", async () => {
    const s = setup();
    const b = { ...failed("b.sh", "boom", "b.sh", 2), attempts: 2 };
    b.result!.log_tail = "step 1\n\x1b[31mstep 2 broke\x1b[39m";
    await report(s.plan, outcome(runOf([job({ test_path: "a.sh" }), b])));
    const at = s.log.lines.indexOf("::group::✗ b.sh failed, 2 attempts");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(s.log.lines.slice(at + 1, at + 3)).toEqual([
      "boom\n\nat b.sh:2\n\n--- output (last lines) ---\nstep 1\nstep 2 broke",
      "::endgroup::",
    ]);
    expect(s.log.lines.filter((l) => l.startsWith("::group::"))).toHaveLength(1);
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
