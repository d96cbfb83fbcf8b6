/**
 * The run as a JUnit XML report, for test reporters and artifact uploads. One testsuite for the
 * run, one testcase per job (a test file): failures carry the message, the file and line AppWright
 * reported; every testcase links its job's page and names its evidence, and a failed or flaky
 * one carries the output's last lines in its system-out (Jenkins' "Standard Output"), with its
 * evidence as `[[ATTACHMENT|path]]` lines when it was downloaded beside the report.
 *
 * - failed -> <failure>; error, timed_out -> <error>; cancelled or unfinished -> <skipped>.
 * - Text is escaped for XML, colour codes are stripped, and characters XML 1.0 cannot carry
 *   (other control characters, lone surrogates) are dropped: a report a parser rejects is worse
 *   than none.
 */
import type { Links } from "../report/links.js";
import type { Attached } from "./attachments.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Job, RunWithJobs } from "../api/schemas.js";
import { isFailed } from "../api/status.js";
import type { SharedEvidence } from "../report/evidence.js";
import { failureBody } from "../report/failure.js";
import { jobLocation, repoPath } from "../report/location.js";
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

/** An exception-like name at the start of the message (`AssertionError: …`), as `type`. */
function errorType(message: string): string | null {
  return /^((?:[A-Z][\w.]*)?(?:Error|Exception))(?=:|\s|$)/.exec(message)?.[1] ?? null;
}

function outcomeElement(job: Job, root: TestRoot): string {
  if (isFailed(job)) {
    const tag = job.status === "failed" ? "failure" : "error";
    const message = firstLine(job.result?.message ?? "") || statusLabel(job.status);
    const body = failureBody(job, root, { output: false });
    return `      <${tag}${attrs({ message, type: errorType(message) })}>${xmlText(body)}</${tag}>\n`;
  }
  if (job.status === "passed") return "";
  const why =
    job.status === "cancelled" ? "cancelled" : `not finished (${statusLabel(job.status)})`;
  return `      <skipped${attrs({ message: why })}/>\n`;
}

/**
 * The job's evidence (screenshots, videos, traces, logs): a failure's as the signed links the
 * server gave (they open without a token until the evidence expires); otherwise named, with
 * where to find them (the job page, `qgjob artifacts`). A summarised result only counts them.
 */
function evidenceLines(job: Job, shared: SharedEvidence | undefined): string {
  if (shared && shared.files.length > 0) {
    return ["evidence (signed links):", ...shared.files.map((f) => `  ${f.label}: ${f.url}`)].join(
      "\n",
    );
  }
  const how = `on the job page; qgjob artifacts --job-id ${job.id} downloads them`;
  const result = job.result;
  if (!result) return "";
  if (result.truncated) {
    const n = result.artifacts_count ?? 0;
    return n > 0 ? `evidence: ${n} ${n === 1 ? "file" : "files"} (${how})` : "";
  }
  const held = result.artifacts.filter((a) => !a.missing).map((a) => a.name);
  return held.length > 0 ? `evidence: ${held.join(", ")} (${how})` : "";
}

export interface JunitExtras {
  links?: Links | null;
  /** Signed links to a failure's evidence, by job id. */
  evidence?: ReadonlyMap<string, SharedEvidence>;
  /** Evidence files on the local disk, by job id, as attachment readers resolve them. */
  attachments?: ReadonlyMap<string, Attached>;
}

/**
 * What readers show under a test: its job page and evidence, a flaky pass said so, a failed or
 * flaky test's output. Each attachment on a line of its own, as junit-attachments requires.
 */
function systemOut(job: Job, extras: JunitExtras): string {
  const { links } = extras;
  const tail = job.result?.log_tail?.trim();
  const lines = [
    links ? `qgjob job ${job.id}: ${links.job(job.id)}` : `qgjob job ${job.id}`,
    evidenceLines(job, extras.evidence?.get(job.id)),
    `attempts: ${job.attempts}`,
    job.flaky ? `flaky: failed, then passed on attempt ${job.attempts}` : "",
    ...attachmentLines(extras.attachments?.get(job.id)),
    (job.flaky || isFailed(job)) && tail ? `--- output (last lines) ---\n${tail}` : "",
  ];
  return `      <system-out>${xmlText(lines.filter(Boolean).join("\n"))}</system-out>\n`;
}

function attachmentLines(attached: Attached | undefined): string[] {
  if (!attached) return [];
  const left = attached.left.map((l) => `  ${l}`);
  return [
    ...attached.paths.map((path) => `[[ATTACHMENT|${path}]]`),
    ...(left.length > 0 ? ["not attached:", ...left] : []),
  ];
}

function testcase(job: Job, root: TestRoot, extras: JunitExtras): string {
  const { links } = extras;
  const { file, line } = jobLocation(job, root);
  const head = `    <testcase${attrs({
    name: repoPath(root, job.test_path),
    classname: job.device ? `qgjob.${job.target}.${job.device}` : `qgjob.${job.target}`,
    file,
    line,
    time: seconds(job.duration_ms),
    url: links?.job(job.id),
  })}`;
  return `${head}>\n${outcomeElement(job, root)}${systemOut(job, extras)}    </testcase>\n`;
}

/**
 * Valid against Jenkins' JUnit schema (xunit-plugin junit-10.xsd; test/action/junit-jenkins.xsd
 * states its rules): no `skipped` on testsuites, no properties on a testcase (so the job id,
 * attempts and flakiness go in its system-out, which every reader shows), names are
 * repository paths like `file`.
 */
export function junitXml(run: RunWithJobs, root: TestRoot, extras: JunitExtras = {}): string {
  const { links } = extras;
  const jobs = run.jobs;
  const failures = jobs.filter((j) => j.status === "failed").length;
  const errors = jobs.filter((j) => j.status === "error" || j.status === "timed_out").length;
  const skipped = jobs.filter((j) => j.status !== "passed" && !isFailed(j)).length;
  const time = seconds(jobs.reduce((sum, j) => sum + (j.duration_ms ?? 0), 0));
  const counts = { tests: jobs.length, failures, errors };
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
  out += `<testsuites${attrs({ name: "qgjob", ...counts, time })}>\n`;
  const suite = { name: `qgjob run ${run.id}`, ...counts, skipped, time };
  out += `  <testsuite${attrs({ ...suite, timestamp: run.created_at, url: links?.run })}>\n`;
  out += "    <properties>\n";
  for (const [name, value] of Object.entries(props)) {
    if (value) out += `      <property${attrs({ name, value })}/>\n`;
  }
  out += "    </properties>\n";
  for (const job of jobs) out += testcase(job, root, extras);
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

export function writeJunit(path: string, xml: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, xml);
}
