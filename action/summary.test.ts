import * as core from "@actions/core";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_ROWS, sortForSummary, summaryRows } from "../report/table.js";
import { writeSummary } from "./summary.js";
import { failedJob as failed, finishedJob as job, runOf } from "../api/testing.js";
import { testRoot } from "./tests.js";
import { verdict } from "./verdict.js";

const root = testRoot("/ws", "app");
// core.summary writes to GITHUB_STEP_SUMMARY, as on a runner (it reads the variable once).
const FILE = join(mkdtempSync(join(tmpdir(), "qgjob-summary-")), "summary.md");
const saved = process.env.GITHUB_STEP_SUMMARY;
beforeAll(() => void (process.env.GITHUB_STEP_SUMMARY = FILE));
afterAll(() => void (process.env.GITHUB_STEP_SUMMARY = saved));
afterEach(() => void core.summary.emptyBuffer());

/** An empty summary file for one test. */
function summaryFile() {
  writeFileSync(FILE, "");
  return FILE;
}

describe("job summary", () => {
  it("orders failures first, then unfinished, flaky, passed; else as submitted", () => {
    const jobs = [
      job({ test_path: "p1" }),
      job({ test_path: "fl", flaky: true }),
      failed("f1", "x"),
      job({ test_path: "c", status: "cancelled" }),
      job({ test_path: "p2" }),
      job({ test_path: "e", status: "error" }),
    ];
    expect(sortForSummary(jobs).map((j) => j.test_path)).toEqual([
      "f1",
      "e",
      "c",
      "fl",
      "p1",
      "p2",
    ]);
  });

  it("has a row per test with status, duration, attempts, flaky and the failure, escaped", () => {
    const rows = summaryRows(
      [
        job({ test_path: "tests/<ok>.spec.ts", duration_ms: 61_000, flaky: true, attempts: 2 }),
        failed("tests/b.spec.ts", 'expected <div> & "x"\nsecond line', "tests/b.spec.ts", 9),
      ],
      root,
    );
    expect(rows[0]).toEqual(
      ["Test", "Status", "Duration", "Attempts", "Flaky", "Failure"].map((data) => ({
        data,
        header: true,
      })),
    );
    expect(rows[1]).toEqual([
      "<code>tests/b.spec.ts</code>",
      "❌ failed",
      "1.2s",
      "1",
      "",
      "expected &lt;div&gt; &amp; &quot;x&quot;<br><code>app/tests/b.spec.ts:9</code>",
    ]);
    expect(rows[2]).toEqual([
      "<code>tests/&lt;ok&gt;.spec.ts</code>",
      "✅ passed",
      "1m01s",
      "2",
      "⚠️ yes",
      "",
    ]);
  });

  it("is written through core.summary: heading, counts, the reason, the table", async () => {
    const file = summaryFile();
    const run = runOf([
      job({ test_path: "a.spec.ts" }),
      failed("b.spec.ts", "boom", "b.spec.ts", 3),
    ]);
    const outcome = { run, timedOut: false, signal: null, elapsedMs: 65_000 };
    const v = verdict(outcome, { failOnFlaky: false, timeoutMinutes: 60 });
    await writeSummary(core.summary, outcome, v, root);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("<h3>❌ qgjob: 1 failed</h3>");
    expect(text).toContain(
      "<p>Run <code>run_0000000001</code> · app version <code>v1</code> · emulator · 0 queued · 0 running · 1 passed · 1 failed · 0 flaky · waited 1m05s</p>",
    );
    expect(text).toContain("<p>1 test of 2 failed in run run_0000000001: b.spec.ts</p>");
    expect(text).toContain("<tr><td><code>b.spec.ts</code></td><td>❌ failed</td>");
    expect(text.indexOf("b.spec.ts")).toBeLessThan(text.indexOf("<code>a.spec.ts"));
  });

  it("counts the rows it leaves out of a very large run", async () => {
    const file = summaryFile();
    const jobs = Array.from({ length: MAX_ROWS + 5 }, (_, i) =>
      job({ test_path: `t${i}.spec.ts` }),
    );
    const outcome = { run: runOf(jobs), timedOut: false, signal: null, elapsedMs: 1 };
    await writeSummary(
      core.summary,
      outcome,
      verdict(outcome, { failOnFlaky: false, timeoutMinutes: 1 }),
      root,
    );
    const text = readFileSync(file, "utf8");
    expect(text.match(/<tr>/g)).toHaveLength(MAX_ROWS + 1);
    expect(text).toContain("… and 5 more (0 unfinished); the JUnit report has every test.");
  });
});
