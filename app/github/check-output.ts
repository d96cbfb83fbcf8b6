/**
 * What a check run shows for one run: its status and conclusion, a title with the counts, a
 * summary (facts and the table of tests the Action's job summary also shows), the failure messages
 * as text, and one annotation per failed test at the file and line AppWright reported. A failure
 * of a quarantined test is listed as "quarantined: failed" with a notice, not a failure: the
 * conclusion leaves it out.
 */
import type { Job, RunWithJobs } from "../../api/schemas.js";
import { failsRun, isFailed, isFinished, isQuarantined } from "../../api/status.js";
import { tally, type Tally } from "../../report/tally.js";
import { describeFailure } from "../../report/failure.js";
import { html, summaryRows, type SummaryTableRow } from "../../report/table.js";
import { quarantinedLabel, statusLabel } from "../../report/text.js";
import type { SharedEvidence } from "../../report/evidence.js";
import {
  ANNOTATIONS_PER_REQUEST,
  clipBytes,
  clipChars,
  MAX_ANNOTATION_BYTES,
  MAX_OUTPUT_BYTES,
  MAX_TITLE_CHARS,
  utf8Bytes,
} from "./limits.js";

export { ANNOTATIONS_PER_REQUEST };

export type CheckStatus = "queued" | "in_progress" | "completed";
export type CheckConclusion = "success" | "failure" | "cancelled" | "timed_out" | "neutral";

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  /** `notice` for a quarantined test's failure. */
  annotation_level: "failure" | "notice";
  title: string;
  message: string;
}

export interface CheckView {
  status: CheckStatus;
  conclusion?: CheckConclusion;
  output: { title: string; summary: string; text?: string };
  /** When the first job started and, once completed, when the last one ended (ISO 8601). */
  startedAt?: string;
  completedAt?: string;
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
  const failing = jobs.filter(failsRun);
  if (failing.some((j) => j.status === "failed" || j.status === "error")) return "failure";
  if (failing.some((j) => j.status === "timed_out")) return "timed_out";
  if (jobs.some((j) => j.status === "cancelled")) return "cancelled";
  return "success";
}

export function annotationFor(job: Job, testRoot: string): CheckAnnotation {
  const f = describeFailure(job, { prefix: testRoot });
  const line = f.line !== null && f.line > 0 ? f.line : 1;
  const quarantined = isQuarantined(job);
  return {
    path: f.file,
    start_line: line,
    end_line: line,
    annotation_level: quarantined ? "notice" : "failure",
    title: clipChars(
      quarantined ? `${job.test_path}: ${quarantinedLabel(job)}` : f.title,
      MAX_TITLE_CHARS,
    ),
    message: clipBytes(f.message, MAX_ANNOTATION_BYTES),
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

/** The line that ends a cut list: how many were left out, and where they all are. */
function moreLine(n: number, what: string, detailsUrl: string | null): string {
  const where = detailsUrl ? `<a href="${html(detailsUrl)}">the dashboard</a>` : "the dashboard";
  return `\n\n… ${n} more ${what} in ${where}.`;
}

/**
 * How many of the blocks fit in `budget` bytes, leaving room for the line that says how many did
 * not (`more(n)`): the first k blocks plus more(rest) never exceed the budget.
 */
function fitting(blocks: readonly string[], budget: number, more: (n: number) => string): number {
  let used = 0;
  let shown = 0;
  for (; shown < blocks.length; shown++) {
    const rest = blocks.length - shown - 1;
    const reserve = rest > 0 ? utf8Bytes(more(rest)) : 0;
    const size = utf8Bytes(blocks[shown]!);
    if (used + size + reserve > budget) break;
    used += size;
  }
  return shown;
}

function boundedTable(rows: SummaryTableRow[], budget: number, detailsUrl: string | null) {
  const [header, ...body] = tableHtml(rows);
  const open = `<table>${header ?? ""}`;
  const close = "</table>";
  const more = (n: number) => moreLine(n, n === 1 ? "test" : "tests", detailsUrl);
  const shown = fitting(body, budget - utf8Bytes(open + close), more);
  const table = open + body.slice(0, shown).join("") + close;
  return shown < body.length ? table + more(body.length - shown) : table;
}

/** A link's text in Markdown: brackets and emphasis marks taken literally. */
const mdText = (text: string) => text.replace(/[[\]\\*_`<>]/g, "\\$&");

/** One line linking a failure to its page, log, screenshots and trace on the dashboard. */
export function evidenceLine(shared: SharedEvidence | null): string {
  if (!shared) return "";
  const links = [
    `[job page](${shared.page})`,
    ...shared.files.map((f) => `[${mdText(f.label)}](${f.url})`),
  ];
  return `Evidence: ${links.join(" · ")}\n\n`;
}

function failureText(failed: readonly Job[], ctx: CheckContext): string | undefined {
  if (failed.length === 0) return undefined;
  const { testRoot, detailsUrl } = ctx;
  const blocks = failed.map((job) => {
    const f = describeFailure(job, { prefix: testRoot });
    const where = f.line !== null ? `${f.file}:${f.line}` : f.file;
    const message = f.message.replaceAll("```", "ʼʼʼ");
    const label = isQuarantined(job) ? quarantinedLabel(job) : statusLabel(job.status);
    const evidence = evidenceLine(ctx.evidence?.(job) ?? null);
    return `### ${job.test_path}: ${label}\n\n\`${where}\`\n\n${evidence}\`\`\`\n${message}\n\`\`\`\n\n`;
  });
  const more = (n: number) => moreLine(n, n === 1 ? "failure" : "failures", detailsUrl);
  let shown = fitting(blocks, MAX_OUTPUT_BYTES, more);
  if (shown === 0) {
    // One failure larger than the whole field on its own: its start is still worth reading.
    const rest = blocks.length - 1;
    blocks[0] = clipBytes(blocks[0]!, MAX_OUTPUT_BYTES - (rest > 0 ? utf8Bytes(more(rest)) : 0));
    shown = 1;
  }
  const text = blocks.slice(0, shown).join("");
  return shown < blocks.length ? text + more(blocks.length - shown) : text;
}

/**
 * A finished check says what came of it, most important first ("4 failed, 4 passed, 1 flaky");
 * an open one what is going on ("2 running, 5 queued, 1 passed"). Zero counts are left out.
 */
export function checkTitle(t: Tally, status: CheckStatus): string {
  const finished = [
    [t.failed, "failed"],
    [t.quarantined, "quarantined"],
    [t.passed, "passed"],
    [t.flaky, "flaky"],
    [t.cancelled, "cancelled"],
  ] as const;
  const open = [
    [t.running, "running"],
    [t.queued, "queued"],
  ] as const;
  const parts = (status === "completed" ? finished : [...open, ...finished])
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`);
  return clipChars(parts.length > 0 ? parts.join(", ") : "no tests", MAX_TITLE_CHARS);
}

const earliest = (times: (string | null)[]) =>
  times.filter((t): t is string => t !== null).sort()[0];
const latest = (times: (string | null)[]) =>
  times
    .filter((t): t is string => t !== null)
    .sort()
    .pop();

export interface CheckContext {
  testRoot: string;
  detailsUrl: string | null;
  /** Signed links to a failed job's evidence (null without QGJOB_PUBLIC_URL). */
  evidence?: ((job: Job) => SharedEvidence | null) | null;
}

export function renderCheck(run: RunWithJobs, ctx: CheckContext): CheckView {
  const status = checkStatus(run.jobs);
  const t = tally(run.jobs);
  // Quarantined failures after the ones that fail the run: they are read, but second.
  const failed = [...run.jobs.filter(failsRun), ...run.jobs.filter(isQuarantined)];
  const facts = [
    ctx.detailsUrl
      ? `Run <a href="${html(ctx.detailsUrl)}"><code>${html(run.id)}</code></a>`
      : `Run <code>${html(run.id)}</code>`,
    `app version <code>${html(run.app_version_ids.join(", "))}</code>`,
    `${run.jobs.length} ${run.jobs.length === 1 ? "test" : "tests"}`,
    ...(run.superseded_by
      ? [`superseded by run <code>${html(run.superseded_by)}</code> (a later push)`]
      : []),
  ].join(" · ");
  const head = `<p>${facts}</p>\n\n`;
  const summary =
    head +
    boundedTable(
      summaryRows(run.jobs, { prefix: ctx.testRoot }),
      MAX_OUTPUT_BYTES - utf8Bytes(head),
      ctx.detailsUrl,
    );
  const text = status === "completed" ? failureText(failed, ctx) : undefined;
  // The latest round's times: a re-run starts the check run over.
  const round = latestRound(run.jobs);
  const startedAt = earliest(round.map((j) => j.started_at));
  const completedAt =
    status === "completed" ? latest(run.jobs.map((j) => j.finished_at)) : undefined;
  const view: CheckView = {
    status,
    output: { title: checkTitle(t, status), summary, ...(text ? { text } : {}) },
    ...(startedAt ? { startedAt } : {}),
    ...(completedAt ? { completedAt } : {}),
    annotations:
      status === "completed" ? failed.map((job) => annotationFor(job, ctx.testRoot)) : [],
    actions:
      status === "completed" && run.jobs.some(isFailed)
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
