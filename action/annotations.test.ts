import type { AnnotationProperties } from "@actions/core";
import { describe, expect, it } from "vitest";
import { MAX_ANNOTATIONS, annotateFailures, failureAnnotation } from "./annotations.js";
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

  it("annotate the first 10 failures only, and say where the rest are", () => {
    const jobs = [
      job({ test_path: "ok.spec.ts" }),
      ...Array.from({ length: 12 }, (_, i) => failed(`f${i}.spec.ts`, `boom ${i}`)),
    ];
    const emitted: [string, AnnotationProperties][] = [];
    const log = memoryLog();
    const n = annotateFailures(jobs, root, (m, p) => emitted.push([m, p]), log);
    expect(n).toBe(12);
    expect(emitted).toHaveLength(MAX_ANNOTATIONS);
    expect(emitted[0]).toEqual([
      "boom 0",
      { title: "f0.spec.ts failed", file: "examples/demo/f0.spec.ts" },
    ]);
    expect(log.lines).toEqual([
      "qgjob: annotated the first 10 of 12 failures (GitHub shows 10 per step); the job summary lists them all",
    ]);
  });
});
