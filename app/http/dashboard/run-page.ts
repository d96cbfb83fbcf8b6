/** One run: its summary, its jobs (status, failure with file and line, artifacts), its actions. */
import type { Job, RunWithJobs } from "../../../api/schemas.js";
import { RERUN_STATUSES } from "../../../api/status.js";
import { countsText, duration, safeLink, statusLabel, time } from "./format.js";
import { html, type Html } from "./html.js";
import { live, page, type Viewer } from "./layout.js";
import { runDuration, sourceText } from "./runs-page.js";

/** "tests/a.spec.ts:6", or just the file, or nothing. */
export function failurePlace(job: Job): string | null {
  const r = job.result;
  if (!r?.file) return null;
  return r.line === null ? r.file : `${r.file}:${r.line}`;
}

function failureCell(job: Job): Html {
  const r = job.result;
  if (!r || job.status === "passed") return html``;
  const place = failurePlace(job);
  return html`${place && html`<code class="place">${place}</code> `}${r.message && html`<span class="message">${r.message}</span>`}`;
}

function jobRow(job: Job): Html {
  const artifacts = job.result?.artifacts ?? [];
  return html`<tr id="job-${job.id}">
    <td data-label="Test">
      <code>${job.test_path}</code>${job.rerun_of && html` <span class="tag">re-run</span>`}
    </td>
    <td data-label="Status">
      ${statusLabel(job.status)}${job.flaky && html` <span class="tag flaky">flaky</span>`}
    </td>
    <td data-label="Target">${job.target}</td>
    <td data-label="Device">${job.device ?? "any"}</td>
    <td data-label="Attempts">${job.attempts} / ${job.max_attempts}</td>
    <td data-label="Duration">${duration(job.duration_ms)}</td>
    <td data-label="Failure">${failureCell(job)}</td>
    <td data-label="Artifacts">${artifacts.map((a) => html`${safeLink(a.url, a.name)} `)}</td>
  </tr>`;
}

function actions(run: RunWithJobs, viewer: Viewer): Html {
  if (!viewer.canSubmit) return html``;
  const open = run.counts.queued + run.counts.leased + run.counts.running > 0;
  const failed = RERUN_STATUSES.some((s) => run.counts[s] > 0);
  if (!open && !failed) return html``;
  return html`<div class="actions">
    ${open && html`<form method="post" action="/runs/${run.id}/cancel"><button type="submit">Cancel run</button></form>`}
    ${failed && !open && html`<form method="post" action="/runs/${run.id}/rerun-failed"><button type="submit">Re-run failed</button></form>`}
  </div>`;
}

function summary(run: RunWithJobs, now: number): Html {
  return html`<dl class="summary">
    <div>
      <dt>Status</dt>
      <dd>${statusLabel(run.status)}</dd>
    </div>
    <div>
      <dt>Jobs</dt>
      <dd>${run.counts.total} · ${countsText(run.counts)}</dd>
    </div>
    <div>
      <dt>Org</dt>
      <dd>${run.org_id}</dd>
    </div>
    <div>
      <dt>Source</dt>
      <dd>${sourceText(run)}</dd>
    </div>
    <div>
      <dt>App version</dt>
      <dd>${run.app_version_ids.join(", ")}</dd>
    </div>
    <div>
      <dt>Created</dt>
      <dd>${time(run.created_at)}</dd>
    </div>
    <div>
      <dt>Finished</dt>
      <dd>${time(run.finished_at)}</dd>
    </div>
    <div>
      <dt>Duration</dt>
      <dd>${runDuration(run, now)}</dd>
    </div>
  </dl>`;
}

export function runPage(opts: { viewer: Viewer; run: RunWithJobs; now: number }): Html {
  const { run } = opts;
  return page({
    title: `Run ${run.id}`,
    section: "runs",
    viewer: opts.viewer,
    body: html`<h1>Run <span class="id">${run.id}</span></h1>
      ${live("run-summary", summary(run, opts.now))}
      ${live("run-actions", actions(run, opts.viewer))}
      <h2>Jobs</h2>
      ${live(
        "run-jobs",
        html`<table class="cards">
          <thead>
            <tr>
              <th scope="col">Test</th>
              <th scope="col">Status</th>
              <th scope="col">Target</th>
              <th scope="col">Device</th>
              <th scope="col">Attempts</th>
              <th scope="col">Duration</th>
              <th scope="col">Failure</th>
              <th scope="col">Artifacts</th>
            </tr>
          </thead>
          <tbody>
            ${run.jobs.map(jobRow)}
          </tbody>
        </table>`,
      )}`,
  });
}
