import type { AnnotationProperties } from "@actions/core";
import { describe, expect, it } from "vitest";
import {
  annotate,
  failureAnnotation,
  MAX_FAILURE_ANNOTATIONS,
  type Annotate,
} from "./annotations.js";
import { memoryLog } from "./log.js";
import { failedJob as failed, finishedJob as job } from "../api/testing.js";
import { testRoot } from "./tests.js";

const root = testRoot("/ws", "examples/demo");

describe("annotations", () => {
  it("point at the file and line the runner reported, in repository terms", () => {
    const a = failureAnnotation(
      {
        ...failed("tests/b.spec.ts", "\x1b[31mexpected 1 to be 2\x1b[0m", "tests/b.spec.ts", 7),
        attempts: 2,
      },
      root,
    );
    expect(a).toEqual({
      message: "expected 1 to be 2",
      properties: {
        title: "tests/b.spec.ts failed after 2 attempts",
        file: "examples/demo/tests/b.spec.ts",
        startLine: 7,
      },
    });
  });

  it("fall back to the test file, and to the status when there is no message", () => {
    const a = failureAnnotation(job({ test_path: "tests/t.spec.ts", status: "timed_out" }), root);
    expect(a).toEqual({
      message: "tests/t.spec.ts: timed out",
      properties: { title: "tests/t.spec.ts timed out", file: "examples/demo/tests/t.spec.ts" },
    });
  });

  it("annotate 9 failures at most, so the verdict is the 10th error GitHub keeps", () => {
    const jobs = [
      job({ test_path: "ok.spec.ts" }),
      ...Array.from({ length: 12 }, (_, i) => failed(`f${i}.spec.ts`, `boom ${i}`)),
    ];
    const { emit, errors, warnings } = collect();
    const log = memoryLog();
    const n = annotate(jobs, root, emit, log);
    expect(n).toBe(12);
    expect(errors).toHaveLength(MAX_FAILURE_ANNOTATIONS);
    expect(MAX_FAILURE_ANNOTATIONS).toBe(9);
    expect(warnings).toEqual([]);
    expect(errors[0]).toEqual([
      "boom 0",
      { title: "f0.spec.ts failed", file: "examples/demo/f0.spec.ts" },
    ]);
    expect(log.lines).toEqual([
      "qgjob: annotated the first 9 of 12 failed tests (GitHub shows 10 errors per step, the verdict included); the job summary lists them all",
    ]);
  });

  it("infrastructure errors: one step-level error on no file, grouped by reason", () => {
    const infra = (path: string, message: string) =>
      job({
        test_path: path,
        status: "error",
        result: { message, file: "/home/agent/work/x.ts", line: 3, artifacts: [] },
      });
    const jobs = [
      ...Array.from({ length: 10 }, (_, i) => failed(`f${i}.spec.ts`, `boom ${i}`)),
      infra("a.spec.ts", "build for abc not found\nat /srv/agent/builds"),
      infra("b.spec.ts", "build for abc not found"),
      infra("c.spec.ts", "agent lost"),
    ];
    const { emit, errors } = collect();
    const log = memoryLog();
    expect(annotate(jobs, root, emit, log)).toBe(13);
    // 8 test failures + 1 infrastructure error + the verdict = 10.
    expect(errors).toHaveLength(9);
    expect(errors.slice(0, 8).every(([, p]) => p.file?.startsWith("examples/demo/f"))).toBe(true);
    expect(errors[8]).toEqual([
      "build for abc not found: a.spec.ts, b.spec.ts\nagent lost: c.spec.ts",
      { title: "3 tests could not run (an infrastructure error, not the test)" },
    ]);
    expect(log.lines[0]).toMatch(/^qgjob: annotated the first 8 of 10 failed tests/);
  });

  it("a flaky pass gets a warning at its file", () => {
    const { emit, errors, warnings } = collect();
    annotate(
      [job({ test_path: "tests/f.spec.ts", flaky: true, attempts: 2 })],
      root,
      emit,
      memoryLog(),
    );
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      [
        "tests/f.spec.ts failed, then passed on attempt 2",
        { title: "tests/f.spec.ts is flaky", file: "examples/demo/tests/f.spec.ts" },
      ],
    ]);
  });
});

function collect() {
  const errors: [string, AnnotationProperties][] = [];
  const warnings: [string, AnnotationProperties][] = [];
  const emit: Annotate = {
    error: (m, p) => void errors.push([m, p]),
    warning: (m, p) => void warnings.push([m, p]),
  };
  return { emit, errors, warnings };
}
