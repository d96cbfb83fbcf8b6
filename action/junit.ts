/**
 * The run as a JUnit XML report, for test reporters and artifact uploads. One testsuite for the
 * run, one testcase per job (a test file): failures carry the message, the file and line AppWright
 * reported, and the output's last lines. Flaky passes are marked with a property.
 *
 * - failed -> <failure>; error, timed_out -> <error>; cancelled or unfinished -> <skipped>.
 * - Text is escaped for XML, colour codes are stripped, and characters XML 1.0 cannot carry
 *   (other control characters, lone surrogates) are dropped: a report a parser rejects is worse
 *   than none.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Job, RunWithJobs } from "../api/schemas.js";
import { isFailed } from "../api/status.js";
import { jobLocation } from "../report/location.js";
import { stripAnsi, statusLabel } from "../report/text.js";
import type { TestRoot } from "./tests.js";

const INVALID_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function clean(text: string): string {
  return stripAnsi(text).replace(INVALID_XML, "");
}

/** Escaped for element text. */
export function xmlText(text: string): string {
  return clean(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escaped for an attribute value in double quotes; line breaks and tabs survive as references. */
export function xmlAttr(text: string): string {
  return xmlText(text)
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;")
    .replace(/\t/g, "&#9;");
}

const attrs = (pairs: Record<string, string | number | null | undefined>) =>
  Object.entries(pairs)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join("");

const seconds = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(3);

const firstLine = (text: string) =>
  stripAnsi(text)
    .split(/\r?\n/)
    .find((l) => l.trim() !== "")
    ?.trim() ?? "";

function outcomeElement(job: Job, root: TestRoot): string {
  const r = job.result;
  const { file, line } = jobLocation(job, root);
  if (isFailed(job)) {
    const tag = job.status === "failed" ? "failure" : "error";
    const message = firstLine(r?.message ?? "") || statusLabel(job.status);
    const body = [
      r?.message?.trim() || statusLabel(job.status),
      `at ${line !== null ? `${file}:${line}` : file}`,
      r?.log_tail?.trim() ? `--- output (last lines) ---\n${r.log_tail.trim()}` : "",
    ]
      .filter(Boolean)
      .join("\n\n");
    return `      <${tag}${attrs({ message, type: job.status })}>${xmlText(body)}</${tag}>\n`;
  }
  if (job.status === "passed") return "";
  const why =
    job.status === "cancelled" ? "cancelled" : `not finished (${statusLabel(job.status)})`;
  return `      <skipped${attrs({ message: why })}/>\n`;
}

function testcase(job: Job, root: TestRoot): string {
  const { file, line } = jobLocation(job, root);
  const head = `    <testcase${attrs({
    name: job.test_path,
    classname: job.device ? `qgjob.${job.target}.${job.device}` : `qgjob.${job.target}`,
    file,
    line,
    time: seconds(job.duration_ms),
  })}`;
  const props: Record<string, string> = { job_id: job.id, attempts: String(job.attempts) };
  if (job.flaky) props.flaky = "true";
  let inner = "      <properties>\n";
  for (const [name, value] of Object.entries(props)) {
    inner += `        <property${attrs({ name, value })}/>\n`;
  }
  inner += "      </properties>\n";
  inner += outcomeElement(job, root);
  if (job.flaky && job.result?.log_tail?.trim()) {
    inner += `      <system-out>${xmlText(job.result.log_tail.trim())}</system-out>\n`;
  }
  return `${head}>\n${inner}    </testcase>\n`;
}

export function junitXml(run: RunWithJobs, root: TestRoot): string {
  const jobs = run.jobs;
  const failures = jobs.filter((j) => j.status === "failed").length;
  const errors = jobs.filter((j) => j.status === "error" || j.status === "timed_out").length;
  const skipped = jobs.filter((j) => j.status !== "passed" && !isFailed(j)).length;
  const time = seconds(jobs.reduce((sum, j) => sum + (j.duration_ms ?? 0), 0));
  const counts = { tests: jobs.length, failures, errors, skipped, time };
  const props: Record<string, string | null> = {
    run_id: run.id,
    org_id: run.org_id,
    status: run.status,
    app_version_id: run.app_version_ids.join(","),
    source: run.source,
    repo: run.repo,
    sha: run.sha,
    ref: run.ref,
  };
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n`;
  out += `<testsuites${attrs({ name: "qgjob", ...counts })}>\n`;
  out += `  <testsuite${attrs({ name: `qgjob run ${run.id}`, ...counts, timestamp: run.created_at })}>\n`;
  out += "    <properties>\n";
  for (const [name, value] of Object.entries(props)) {
    if (value) out += `      <property${attrs({ name, value })}/>\n`;
  }
  out += "    </properties>\n";
  for (const job of jobs) out += testcase(job, root);
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

export function writeJunit(path: string, xml: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, xml);
}
