/**
 * What a check run shows for one run: its status and conclusion, a title with the counts, a
 * summary (facts and the table of tests the Action's job summary also shows), the failure messages
 * as text, and one annotation per failed test at the file and line AppWright reported.
 */
import type { Job, RunWithJobs } from "../../api/schemas.js";
import { isFailed, isFinished } from "../../api/status.js";
import { formatTally, tally } from "../../report/tally.js";
import { describeFailure } from "../../report/failure.js";
import { html, summaryRows, type SummaryTableRow } from "../../report/table.js";
import { clip, statusLabel } from "../../report/text.js";

/** GitHub's limits: 65535 characters per summary or text, 50 annotations per request. */
export const MAX_OUTPUT_CHARS = 65_535;
export const ANNOTATIONS_PER_REQUEST = 50;

export type CheckStatus = "queued" | "in_progress" | "completed";
export type CheckConclusion = "success" | "failure" | "cancelled" | "timed_out" | "neutral";

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "failure";
  title: string;
  message: string;
}

export interface CheckView {
  status: CheckStatus;
  conclusion?: CheckConclusion;
  output: { title: string; summary: string; text?: string };
  /** All of them: the reporter sends them 50 at a time. */
  annotations: CheckAnnotation[];
  /** Offered on a completed check run with failures. */
  actions: { label: string; description: string; identifier: string }[];
}

export const RERUN_FAILED_ACTION = "rerun_failed";

/**
 * The jobs of the latest round: a re-run adds jobs later than the rest, and the check run starts
 * over as queued until one of those starts.
 */
function latestRound(jobs: readonly Job[]): Job[] {
  const latest = jobs.reduce((max, j) => (j.created_at > max ? j.created_at : max), "");
  return jobs.filter((j) => j.created_at === latest);
}

export function checkStatus(jobs: readonly Job[]): CheckStatus {
  if (jobs.length > 0 && jobs.every(isFinished)) return "completed";
  return latestRound(jobs).some((j) => j.status !== "queued") ? "in_progress" : "queued";
}

export function conclusion(jobs: readonly Job[]): CheckConclusion {
  if (jobs.length === 0) return "neutral";
  if (jobs.some((j) => j.status === "failed" || j.status === "error")) return "failure";
  if (jobs.some((j) => j.status === "timed_out")) return "timed_out";
  if (jobs.some((j) => j.status === "cancelled")) return "cancelled";
  return "success";
}

export function annotationFor(job: Job, testRoot: string): CheckAnnotation {
  const f = describeFailure(job, { prefix: testRoot });
  const line = f.line !== null && f.line > 0 ? f.line : 1;
  return {
    path: f.file,
    start_line: line,
    end_line: line,
    annotation_level: "failure",
    title: clip(f.title, 255),
    message: f.message,
  };
}

function tableHtml(rows: SummaryTableRow[]): string[] {
  const cell = (c: SummaryTableRow[number]) =>
    typeof c === "string"
      ? `<td>${c}</td>`
      : c.header
        ? `<th>${c.data}</th>`
        : `<td>${c.data}</td>`;
  return rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`);
}

/** As many rows as fit in `budget` characters, then a line saying how many did not. */
function boundedTable(rows: SummaryTableRow[], budget: number): string {
  const [header, ...body] = tableHtml(rows);
  let out = `<table>${header ?? ""}`;
  let shown = 0;
  const closing = "</table>";
  const reserve = closing.length + 80;
  for (const row of body) {
    if (out.length + row.length + reserve > budget) break;
    out += row;
    shown++;
  }
  out += closing;
  if (shown < body.length) out += `\n\n… and ${body.length - shown} more tests (see the run page).`;
  return out;
}

function failureText(failed: readonly Job[], testRoot: string): string | undefined {
  if (failed.length === 0) return undefined;
  let text = "";
  for (const [i, job] of failed.entries()) {
    const f = describeFailure(job, { prefix: testRoot });
    const where = f.line !== null ? `${f.file}:${f.line}` : f.file;
    const block = `### ${job.test_path}: ${statusLabel(job.status)}\n\n\`${where}\`\n\n\`\`\`\n${f.message.replaceAll("```", "ʼʼʼ")}\n\`\`\`\n\n`;
    if (text.length + block.length > MAX_OUTPUT_CHARS - 100) {
      text += `… and ${failed.length - i} more failures (each has an annotation).`;
      break;
    }
    text += block;
  }
  return text;
}

export interface CheckContext {
  testRoot: string;
  detailsUrl: string | null;
}

export function renderCheck(run: RunWithJobs, ctx: CheckContext): CheckView {
  const status = checkStatus(run.jobs);
  const t = tally(run.jobs);
  const failed = run.jobs.filter(isFailed);
  const facts = [
    ctx.detailsUrl
      ? `Run <a href="${html(ctx.detailsUrl)}"><code>${html(run.id)}</code></a>`
      : `Run <code>${html(run.id)}</code>`,
    `app version <code>${html(run.app_version_ids.join(", "))}</code>`,
    formatTally(t),
  ].join(" · ");
  const head = `<p>${facts}</p>\n\n`;
  const summary =
    head +
    boundedTable(summaryRows(run.jobs, { prefix: ctx.testRoot }), MAX_OUTPUT_CHARS - head.length);
  const text = status === "completed" ? failureText(failed, ctx.testRoot) : undefined;
  const view: CheckView = {
    status,
    output: { title: clip(formatTally(t), 255), summary, ...(text ? { text } : {}) },
    annotations:
      status === "completed" ? failed.map((job) => annotationFor(job, ctx.testRoot)) : [],
    actions:
      status === "completed" && failed.length > 0
        ? [
            {
              label: "Re-run failed",
              description: "Queue the failed tests again",
              identifier: RERUN_FAILED_ACTION,
            },
          ]
        : [],
  };
  if (status === "completed") view.conclusion = conclusion(run.jobs);
  return view;
}
