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
    const xml = junitXml(run, root);
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="qgjob" tests="6" failures="1" errors="2" skipped="1" time="[\d.]+">\n/,
    );
    expect(xml).toContain(
      `<testsuite name="qgjob run run_0000000001" tests="6" failures="1" errors="2" skipped="1"`,
    );
    expect(xml).toContain(`<property name="repo" value="qualgent/demo"/>`);
    expect(xml).toContain(
      `<testcase name="tests/pass.spec.ts" classname="qgjob.emulator" file="examples/demo/tests/pass.spec.ts" time="4.200">`,
    );
    expect(xml).toContain(
      `<testcase name="tests/fail.spec.ts" classname="qgjob.emulator" file="examples/demo/tests/fail.spec.ts" line="6" time="1.200">`,
    );
    expect(xml).toContain(
      `<failure message="Error: expect(received).toBe(expected)" type="failed">Error: expect(received).toBe(expected)\n\nExpected: &lt;2&gt;\nReceived: "1" &amp; more\n\nat examples/demo/tests/fail.spec.ts:6\n\n--- output (last lines) ---\n`,
    );
    expect(xml).toContain(
      `<error message="agent lost" type="error">agent lost\n\nat examples/demo/tests/crash.spec.ts</error>`,
    );
    expect(xml).toContain(`<error message="timed out" type="timed_out">`);
    expect(xml).toContain(`<skipped message="cancelled"/>`);
    expect(xml).toMatch(
      /<property name="flaky" value="true"\/>\n\s*<\/properties>\n\s*<system-out>first try failed<\/system-out>/,
    );
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

  it("marks jobs a timed-out wait left unfinished as skipped", () => {
    const xml = junitXml(
      runOf([job({ test_path: "a.sh", status: "running" })]),
      testRoot("/ws", "."),
    );
    expect(xml).toContain(`<skipped message="not finished (running)"/>`);
    expect(xml).toContain(`file="a.sh"`);
  });
});
