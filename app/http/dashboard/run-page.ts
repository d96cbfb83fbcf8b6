/**
 * One run: its summary, a page of its jobs (job id, the agent that ran it, its tries, the failure's
 * first line with file and line, how many artifacts: the job page has them whole; a re-run job
 * with the jobs it superseded collapsed under it), its actions.
 */
import type { LeaseDevice } from "../../../api/devices.js";
import type { Job, RunWithJobs } from "../../../api/schemas.js";
import { RERUN_STATUSES } from "../../../api/status.js";
import { countsText, duration, pathCode, statusLabel, time, triesText } from "./format.js";
import { html, type Html } from "./html.js";
import { live, liveEvents, page, type Viewer } from "./layout.js";
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

/** Who ran a job: the agent's name where the viewer can see it, else its id. */
type AgentNames = ReadonlyMap<string, string>;

function agentCell(job: Job, agents: AgentNames): Html {
  if (job.agent_id === null) return html``;
  const name = agents.get(job.agent_id);
  return name
    ? html`<span title="${job.agent_id}">${name}</span>`
    : html`<code>${job.agent_id}</code>`;
}

const firstLine = (message: string | null) =>
  (message ?? "").split("\n").find((l) => l.trim() !== "") ?? "";

/** The jobs a re-run superseded, newest first, collapsed under it. */
function historyOf(earlier: readonly Job[], agents: AgentNames): Html {
  if (earlier.length === 0) return html``;
  return html`<details class="history">
    <summary>
      ${earlier.length} earlier ${earlier.length === 1 ? "run" : "runs"} of this test
    </summary>
    <ol>
      ${earlier.map(
        (j) =>
          html`<li>
            ${statusLabel(j.status)} <a class="id" href="/jobs/${j.id}">${j.id}</a> ·
            ${triesText(j.attempts)}${j.agent_id && html` · ${agentCell(j, agents)}`} ·
            ${time(j.finished_at)}${j.result?.message && html`<br /><span class="message">${firstLine(j.result.message)}</span>`}
          </li>`,
      )}
    </ol>
  </details>`;
}

function jobRow(job: Job, agents: AgentNames, earlier: readonly Job[]): Html {
  const r = job.result;
  const files = r?.artifacts_count ?? r?.artifacts.length ?? 0;
  return html`<tr id="job-${job.id}">
    <td data-label="Test" class="test">
      ${pathCode(job.test_path)}${job.rerun_of && html` <span class="tag">re-run</span>`}
      <br /><a class="id" href="/jobs/${job.id}">${job.id}</a> ${historyOf(earlier, agents)}
    </td>
    <td data-label="Status">
      ${statusLabel(job.status)}${job.flaky && html` <span class="tag flaky">flaky</span>`}
    </td>
    <td data-label="Target">${job.target}</td>
    <td data-label="Device">${job.device ?? "any"}</td>
    <td data-label="Agent" class="nowrap">${agentCell(job, agents)}</td>
    <td data-label="Tries" class="nowrap">${triesText(job.attempts)}</td>
    <td data-label="Duration">${duration(job.duration_ms)}</td>
    <td data-label="Failure">${failureCell(job)}</td>
    <td data-label="Evidence">
      ${files > 0 && html`<a href="/jobs/${job.id}">${files} file${files === 1 ? "" : "s"}</a>`}
    </td>
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

/** When the run's evidence may be removed: retention counts from its last job's end. */
const evidenceUntil = (finishedAt: string, retentionMs: number) =>
  new Date(Date.parse(finishedAt) + retentionMs).toISOString();

function summary(run: RunWithJobs, now: number, retentionMs: number | undefined): Html {
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
    ${
      run.finished_at &&
      retentionMs !== undefined &&
      html`<div>
        <dt>Evidence kept until</dt>
        <dd>${time(evidenceUntil(run.finished_at, retentionMs))}</dd>
      </div>`
    }
  </dl>`;
}

/** Check runs the GitHub App gave up on, and why: the only place a user sees it. */
function githubProblems(problems: readonly string[]): Html {
  if (problems.length === 0) return html``;
  return html`<div class="notice" role="alert">
    <h2>GitHub</h2>
    <ul>
      ${problems.map((p) => html`<li>${p}</li>`)}
    </ul>
  </div>`;
}

/** Leases listed one by one on the run page; beyond, only the totals. */
const DEVICE_ROWS = 50;

/**
 * What the devices did for the run (agents owning their device session report it per lease):
 * installs, sessions and setup time, in total and per lease.
 */
function deviceSection(devices: readonly LeaseDevice[]): Html {
  if (devices.length === 0) return html``;
  const sum = (f: (d: LeaseDevice) => number) => devices.reduce((n, d) => n + f(d), 0);
  const sessions = sum((d) => d.sessions);
  const setup = sum((d) => d.setup_ms.install + d.setup_ms.session);
  const row = (d: LeaseDevice) =>
    html`<tr>
      <td data-label="Lease"><code>${d.lease_id}</code></td>
      <td data-label="Agent"><code>${d.agent_id}</code></td>
      <td data-label="App version">${d.app_version_id}</td>
      <td data-label="Installs">${d.installs}</td>
      <td data-label="Sessions">${d.sessions}</td>
      <td data-label="Install">${duration(d.setup_ms.install)}</td>
      <td data-label="Session start">${duration(d.setup_ms.session)}</td>
    </tr>`;
  return html`<h2>Devices</h2>
    <p class="device-totals">
      ${sum((d) => d.installs)} installs · ${sessions} sessions · setup
      ${duration(setup)}${sessions > 0 && html` (${duration(setup / sessions)} per session)`} ·
      ${devices.length} leases
    </p>
    <table class="cards">
      <thead>
        <tr>
          <th scope="col">Lease</th>
          <th scope="col">Agent</th>
          <th scope="col">App version</th>
          <th scope="col">Installs</th>
          <th scope="col">Sessions</th>
          <th scope="col">Install</th>
          <th scope="col">Session start</th>
        </tr>
      </thead>
      <tbody>
        ${devices.slice(0, DEVICE_ROWS).map(row)}
      </tbody>
    </table>`;
}

/** A run's page shows a page of its jobs: links to the next one, and back to the first. */
function pager(run: RunWithJobs, laterPage: boolean): Html {
  const next = run.jobs_next_cursor;
  if (!next && !laterPage) return html``;
  return html`<p class="pager">
    ${laterPage && html`<a href="/runs/${run.id}">First jobs</a>`}
    ${next && html`<a href="/runs/${run.id}?cursor=${next}" rel="next">Next jobs</a>`}
  </p>`;
}

export function runPage(opts: {
  viewer: Viewer;
  run: RunWithJobs;
  now: number;
  githubProblems?: readonly string[];
  /** Showing a page of jobs after the first. */
  laterPage?: boolean;
  /** What the devices did for the run's leases, oldest report first. */
  devices?: readonly LeaseDevice[];
  /** Per re-run job, the jobs it superseded, newest first. */
  history?: ReadonlyMap<string, readonly Job[]>;
  /** Agent names by id, for the agents the viewer may see. */
  agentNames?: AgentNames;
  /** QGJOB_RETENTION_DAYS: a finished run says until when its evidence is kept. */
  retentionMs?: number;
}): Html {
  const { run } = opts;
  return page({
    title: `Run ${run.id}`,
    section: "runs",
    viewer: opts.viewer,
    body: html`<h1>Run <span class="id">${run.id}</span></h1>
      ${liveEvents(`/runs/${run.id}/events`)}
      ${live("run-summary", summary(run, opts.now, opts.retentionMs))}
      ${live("run-actions", actions(run, opts.viewer))} ${githubProblems(opts.githubProblems ?? [])}
      <h2>Jobs</h2>
      ${live(
        "run-jobs",
        html`<table class="cards">
          <thead>
            <tr>
              <th scope="col" class="test">Test</th>
              <th scope="col">Status</th>
              <th scope="col">Target</th>
              <th scope="col">Device</th>
              <th scope="col">Agent</th>
              <th scope="col">Tries</th>
              <th scope="col">Duration</th>
              <th scope="col">Failure</th>
              <th scope="col">Evidence</th>
            </tr>
          </thead>
          <tbody>
            ${run.jobs.map((j) =>
              jobRow(j, opts.agentNames ?? new Map(), opts.history?.get(j.id) ?? []),
            )}
          </tbody>
        </table>`,
      )}
      ${pager(run, opts.laterPage ?? false)} ${deviceSection(opts.devices ?? [])}`,
  });
}
