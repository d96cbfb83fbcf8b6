import { describe, expect, it } from "vitest";
import { junitXml, xmlAttr, xmlText } from "./junit.js";
import { failedJob as failed, finishedJob as job, runOf } from "../api/testing.js";
import { testRoot } from "./tests.js";

const root = testRoot("/ws", "examples/demo");

describe("JUnit report", () => {
  it("escapes text and attributes, strips colour codes and characters XML cannot carry", () => {
    expect(xmlText(`a < b && c > "d" 'e'`)).toBe(`a &lt; b &amp;&amp; c &gt; "d" 'e'`);
    expect(xmlAttr(`say "hi" & <go>\n\tnow 'x'`)).toBe(
      "say &quot;hi&quot; &amp; &lt;go&gt;&#10;&#9;now &apos;x&apos;",
    );
    expect(xmlText("\x1b[31mred\x1b[39m \x1b]8;;https://x\x07link\x1b]8;;\x07")).toBe("red link");
    expect(xmlText("bell\x07 nul\x00 vt\x0b lone\ud800 ok\u{1f600}")).toBe(
      "bell nul vt lone ok\u{1f600}",
    );
  });

  it("has one testcase per job: failures with message, file and line; errors; skips; flaky", () => {
    const run = runOf([
      job({ test_path: "tests/pass.spec.ts", duration_ms: 4200 }),
      failed(
        "tests/fail.spec.ts",
        '\x1b[31mError: expect(received).toBe(expected)\x1b[39m\n\nExpected: <2>\nReceived: "1" & more',
        "tests/fail.spec.ts",
        6,
      ),
      job({
        test_path: "tests/crash.spec.ts",
        status: "error",
        result: { message: "agent lost", file: null, line: null, artifacts: [] },
      }),
      job({ test_path: "tests/slow.spec.ts", status: "timed_out" }),
      job({ test_path: "tests/never.spec.ts", status: "cancelled", duration_ms: null }),
      job({
        test_path: "tests/flaky.spec.ts",
        flaky: true,
        attempts: 2,
        result: {
          message: null,
          file: null,
          line: null,
          log_tail: "first try failed",
          artifacts: [],
        },
      }),
    ]);
    const links = {
      run: "https://q.example/runs/run_0000000001",
      job: (id: string) => `https://q.example/jobs/${id}`,
    };
    const xml = junitXml(run, root, { links });
    // Jenkins' schema has no `skipped` on testsuites: only on testsuite.
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="qgjob" tests="6" failures="1" errors="2" time="[\d.]+">\n/,
    );
    expect(xml).toContain(
      `<testsuite name="qgjob run run_0000000001" tests="6" failures="1" errors="2" skipped="1" time="9.000" timestamp="2025-01-01T00:00:00.000Z" url="https://q.example/runs/run_0000000001">`,
    );
    expect(xml).toContain(`<property name="repo" value="qualgent/demo"/>`);
    expect(xml).toContain(
      `<testcase name="examples/demo/tests/pass.spec.ts" classname="qgjob.emulator" file="examples/demo/tests/pass.spec.ts" time="4.200" url="https://q.example/jobs/${run.jobs[0]!.id}">`,
    );
    expect(xml).toContain(
      `<testcase name="examples/demo/tests/fail.spec.ts" classname="qgjob.emulator" file="examples/demo/tests/fail.spec.ts" line="6" time="1.200" url="https://q.example/jobs/${run.jobs[1]!.id}">`,
    );
    // type: an exception name the message starts with, never the job's status.
    expect(xml).toContain(
      `<failure message="Error: expect(received).toBe(expected)" type="Error">Error: expect(received).toBe(expected)\n\nExpected: &lt;2&gt;\nReceived: "1" &amp; more\n\nat examples/demo/tests/fail.spec.ts:6</failure>`,
    );
    expect(xml).toContain(
      `<error message="agent lost">agent lost\n\nat examples/demo/tests/crash.spec.ts</error>`,
    );
    expect(xml).toContain(`<error message="timed out">`);
    expect(xml).toContain(`<skipped message="cancelled"/>`);
    // The job's page in every testcase's system-out; a failure's output is there (Jenkins'
    // "Standard Output"), not in its stack trace; a flaky pass says so, with its output.
    expect(xml).toContain(
      `<system-out>qgjob job ${run.jobs[1]!.id}: https://q.example/jobs/${run.jobs[1]!.id}\nattempts: 1\n--- output (last lines) ---\nError: expect(received).toBe(expected)\n\nExpected: &lt;2&gt;\nReceived: "1" &amp; more\nmore output</system-out>`,
    );
    expect(xml).toContain(
      `attempts: 2\nflaky: failed, then passed on attempt 2\n--- output (last lines) ---\nfirst try failed</system-out>`,
    );
    expect(xml).not.toContain("<testcase>\n      <properties>");
    expect(xml).not.toContain("\x1b");
    // Every element that opens closes, in order (a cheap well-formedness check).
    const stack: string[] = [];
    for (const [, close, name, selfClose] of xml.matchAll(/<(\/?)([a-z-]+)[^>]*?(\/?)>/g)) {
      if (selfClose) continue;
      if (close) expect(stack.pop()).toBe(name);
      else stack.push(name!);
    }
    expect(stack).toEqual([]);
  });

  it("names each test's evidence in its system-out, pointing at the job page", () => {
    const shot = { name: "failure.png", kind: "screenshot" as const, sha256: "a".repeat(64) };
    const run = runOf([
      job({
        test_path: "tests/fail.spec.ts",
        status: "failed",
        result: {
          message: "boom",
          file: null,
          line: null,
          artifacts: [
            shot,
            { name: "video.webm", kind: "video", sha256: "b".repeat(64) },
            { name: "trace.zip", kind: "trace", missing: "over the size cap" },
          ],
        },
      }),
      job({
        test_path: "tests/pass.spec.ts",
        result: {
          message: null,
          file: null,
          line: null,
          artifacts: [],
          truncated: true,
          artifacts_count: 1,
        },
      }),
      job({ test_path: "tests/plain.spec.ts" }),
    ]);
    const xml = junitXml(run, root);
    const [fail, pass, plain] = run.jobs.map((j) => j.id);
    expect(xml).toContain(
      `<system-out>qgjob job ${fail}\nevidence: failure.png, video.webm (on the job page; qgjob artifacts --job-id ${fail} downloads them)\nattempts: 1</system-out>`,
    );
    expect(xml).toContain(
      `<system-out>qgjob job ${pass}\nevidence: 1 file (on the job page; qgjob artifacts --job-id ${pass} downloads them)\nattempts: 1</system-out>`,
    );
    expect(xml).toContain(`<system-out>qgjob job ${plain}\nattempts: 1</system-out>`);
  });

  it("links a failure's evidence with the signed links the server gave", () => {
    const run = runOf([failed("tests/fail.spec.ts", "boom")]);
    const id = run.jobs[0]!.id;
    const shared = {
      page: `https://q.example/jobs/${id}?sig=s`,
      files: [
        {
          label: "output.log",
          url: `https://q.example/api/v1/jobs/${id}/attempts/1/artifacts/0?sig=s&x=1`,
        },
        { label: "trace.zip (trace viewer)", url: "https://q.example/trace/?trace=t" },
      ],
    };
    const xml = junitXml(run, root, { evidence: new Map([[id, shared]]) });
    expect(xml).toContain(
      `<system-out>qgjob job ${id}\nevidence (signed links):\n  output.log: https://q.example/api/v1/jobs/${id}/attempts/1/artifacts/0?sig=s&amp;x=1\n  trace.zip (trace viewer): https://q.example/trace/?trace=t\nattempts: 1\n--- output (last lines) ---\nboom\nmore output</system-out>`,
    );
  });

  it("marks jobs a timed-out wait left unfinished as skipped", () => {
    const xml = junitXml(
      runOf([job({ test_path: "a.sh", status: "running" })]),
      testRoot("/ws", "."),
    );
    expect(xml).toContain(`<skipped message="not finished (running)"/>`);
    expect(xml).toContain(`file="a.sh"`);
  });
});
