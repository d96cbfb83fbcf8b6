/**
 * The job summary: a heading with the verdict, a line of counts, and a table of every test
 * (status, duration, attempts, flaky, and for failures the message and where), failures first.
 * It is where the failures beyond the 10 annotations GitHub shows are listed.
 */
import type { Job } from "../api/schemas.js";
import { isFinished } from "../api/status.js";
import type { SharedEvidence } from "../report/evidence.js";
import { formatDuration } from "../report/duration.js";
import { formatTally, tally } from "../report/tally.js";
import { html, MAX_ROWS, summaryRows, type SummaryTableRow } from "../report/table.js";
import type { TestRoot } from "./tests.js";
import type { Outcome, Verdict } from "./verdict.js";

/** What the summary needs of core.summary (the real one in the Action). */
export interface SummaryWriter {
  addHeading(text: string, level?: number | string): SummaryWriter;
  addRaw(text: string, addEOL?: boolean): SummaryWriter;
  addTable(rows: SummaryTableRow[]): SummaryWriter;
  write(): Promise<unknown>;
}

export async function writeSummary(
  summary: SummaryWriter,
  outcome: Outcome,
  result: Verdict,
  root: TestRoot,
  evidence: ReadonlyMap<string, SharedEvidence> = new Map(),
): Promise<void> {
  const { run } = outcome;
  const t = tally(run.jobs);
  const icon = result.ok ? "✅" : outcome.timedOut ? "⏱️" : "❌";
  const facts = [
    `Run <code>${html(run.id)}</code>`,
    `app version <code>${html(run.app_version_ids.join(", "))}</code>`,
    html(run.jobs[0]?.target ?? ""),
    `${formatTally(t)}`,
    `waited ${formatDuration(outcome.elapsedMs)}`,
  ].filter(Boolean);
  summary
    .addHeading(`${icon} qgjob: ${html(result.headline)}`, 3)
    .addRaw(`<p>${facts.join(" · ")}</p>`, true);
  if (!result.ok) summary.addRaw(`<p>${html(result.message)}</p>`, true);
  summary.addTable(summaryRows(run.jobs, root));
  const hidden = run.jobs.length - MAX_ROWS;
  if (hidden > 0) {
    const unfinished = run.jobs.filter((j) => !isFinished(j)).length;
    summary.addRaw(
      `<p>… and ${hidden} more (${unfinished} unfinished); the JUnit report has every test.</p>`,
      true,
    );
  }
  if (evidence.size > 0) summary.addRaw(evidenceList(run.jobs, evidence), true);
  await summary.write();
}

/** Each linked failure's page and files, under the table. */
function evidenceList(jobs: readonly Job[], evidence: ReadonlyMap<string, SharedEvidence>) {
  const link = (url: string, text: string) => `<a href="${html(url)}">${html(text)}</a>`;
  const items = jobs.flatMap((job) => {
    const e = evidence.get(job.id);
    if (!e) return [];
    const links = [link(e.page, "job page"), ...e.files.map((f) => link(f.url, f.label))];
    return [`<li><code>${html(job.test_path)}</code>: ${links.join(" · ")}</li>`];
  });
  return `<h4>Evidence</h4>\n<ul>\n${items.join("\n")}\n</ul>`;
}
