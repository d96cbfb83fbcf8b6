/**
 * A Playwright reporter the AppWright runner adds next to `list,json`: it appends one JSON
 * line to the file named by QGJOB_STREAM_FILE when a test file begins and when all of its
 * tests have their final result, so the agent can post each job as soon as its file is done
 * instead of when the whole invocation ends.
 *
 * Playwright loads it by path (`--reporter list,json,<this file>`): from the sources it is
 * this .ts file (Playwright transpiles it), from dist/ the .js tsc emits. It must not import
 * anything but node built-ins (the agent's package does not depend on @playwright/test),
 * so the few Playwright types it needs are declared here.
 *
 * Lines: {"type":"begin","ts":...,"file":"/abs/tests/a.spec.ts"}
 *        {"type":"end","ts":...,"file":"/abs/tests/a.spec.ts","tests":[StreamTest...]}
 * A file any of whose tests did not finish (interrupted, or "skipped" because the run was cut
 * short) never gets an "end" line: the JSON report decides for it.
 */
import { createHash } from "node:crypto";
import { appendFileSync, realpathSync } from "node:fs";
import path from "node:path";

/** Bytes of one file's log the reporter writes; past it, one line says the rest was left out. */
const LOG_CAP = 5 * 1024 * 1024;

/** Where a test file's log goes in QGJOB_LOG_DIR (the runner computes the same name). */
export function logFileFor(logDir: string, testFile: string): string {
  let real = testFile;
  try {
    real = realpathSync(testFile);
  } catch {
    // a file that is gone keeps its given name
  }
  return path.join(logDir, `${createHash("sha1").update(real).digest("hex")}.log`);
}

interface Location {
  file: string;
  line: number;
  column: number;
}
interface PwError {
  message?: string;
  stack?: string;
  snippet?: string;
  location?: Location;
}
interface PwResult {
  status: string;
  duration: number;
  retry: number;
  error?: PwError;
  errors: PwError[];
  attachments: { name: string; contentType: string; path?: string }[];
}
interface PwTest {
  title: string;
  location: Location;
  expectedStatus: string;
  retries: number;
  results: PwResult[];
  outcome(): string;
}
interface PwSuite {
  allTests(): PwTest[];
}

/** One test as the runner's parser reads it (the JSON report's spec + test, flattened). */
export interface StreamTest {
  title: string;
  file: string;
  line: number;
  column: number;
  expectedStatus: string;
  status: string;
  results: {
    status: string;
    duration: number;
    retry: number;
    error?: PwError;
    errors: PwError[];
    attachments: { name: string; contentType: string; path?: string }[];
  }[];
}

export type StreamEvent =
  | { type: "begin"; ts: number; file: string }
  | { type: "end"; ts: number; file: string; tests: StreamTest[] };

const serializeError = (e: PwError | undefined): PwError | undefined =>
  e && { message: e.message, location: e.location };

export default class QgjobStreamReporter {
  private readonly out = process.env.QGJOB_STREAM_FILE;
  /** Per test file: its tests' output and errors, as the agent uploads it (the attempt's log). */
  private readonly logDir = process.env.QGJOB_LOG_DIR;
  private readonly logBytes = new Map<string, number>();
  /** Tests of each file still without a final result. */
  private readonly pending = new Map<string, number>();
  private readonly tests = new Map<string, PwTest[]>();
  private readonly begun = new Set<string>();
  private readonly broken = new Set<string>();

  printsToStdio(): boolean {
    return false;
  }

  onBegin(_config: unknown, suite: PwSuite): void {
    for (const test of suite.allTests()) {
      const file = test.location.file;
      this.pending.set(file, (this.pending.get(file) ?? 0) + 1);
    }
  }

  onStdOut(chunk: string | Buffer, test?: PwTest): void {
    if (test) this.log(test.location.file, chunk);
  }

  onStdErr(chunk: string | Buffer, test?: PwTest): void {
    if (test) this.log(test.location.file, chunk);
  }

  onTestBegin(test: PwTest): void {
    const file = test.location.file;
    this.log(file, `=== ${test.title} (${path.basename(file)}:${test.location.line})\n`);
    if (this.begun.has(file)) return;
    this.begun.add(file);
    this.emit({ type: "begin", ts: Date.now(), file });
  }

  onTestEnd(test: PwTest, result: PwResult): void {
    const file = test.location.file;
    const errors = result.errors.length ? result.errors : result.error ? [result.error] : [];
    for (const e of errors) this.log(file, `${e.stack ?? e.message ?? ""}\n${e.snippet ?? ""}\n`);
    this.log(file, `=== ${result.status} in ${result.duration} ms\n\n`);
    const final =
      result.status === "passed" || result.status === "skipped" || result.retry >= test.retries;
    if (!final) return; // Playwright runs it again
    if (
      result.status === "interrupted" ||
      (result.status === "skipped" && test.expectedStatus !== "skipped")
    ) {
      this.broken.add(file); // cut short: leave this file to the JSON report
    }
    const done = [...(this.tests.get(file) ?? []), test];
    this.tests.set(file, done);
    const left = (this.pending.get(file) ?? 1) - 1;
    this.pending.set(file, left);
    if (left > 0 || this.broken.has(file)) return;
    this.emit({
      type: "end",
      ts: Date.now(),
      file,
      tests: done.map((t) => ({
        title: t.title,
        file: t.location.file,
        line: t.location.line,
        column: t.location.column,
        expectedStatus: t.expectedStatus,
        status: t.outcome(),
        results: t.results.map((r) => ({
          status: r.status,
          duration: r.duration,
          retry: r.retry,
          error: serializeError(r.error),
          errors: r.errors.map((e) => serializeError(e) ?? {}),
          attachments: r.attachments.map((a) => ({
            name: a.name,
            contentType: a.contentType,
            path: a.path,
          })),
        })),
      })),
    });
  }

  private log(file: string, text: string | Buffer): void {
    if (!this.logDir) return;
    const used = this.logBytes.get(file) ?? 0;
    if (used >= LOG_CAP) return;
    const bytes = Buffer.byteLength(text);
    this.logBytes.set(file, used + bytes);
    try {
      appendFileSync(
        logFileFor(this.logDir, file),
        used + bytes > LOG_CAP
          ? `${text}\n[qgjob: the rest of this file's output was left out]\n`
          : text,
      );
    } catch {
      // The log is evidence, not the result: a full disk must not break the run.
    }
  }

  private emit(event: StreamEvent): void {
    if (!this.out) return;
    try {
      appendFileSync(this.out, JSON.stringify(event) + "\n");
    } catch {
      // Streaming is an optimisation: the JSON report still has every result.
    }
  }
}
