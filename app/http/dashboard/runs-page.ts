/** The runs page: newest first, filtered by org, status and app version. */
import type { Run } from "../../../api/schemas.js";
import { RUN_STATUSES } from "../../../api/status.js";
import { countsText, duration, statusLabel, time } from "./format.js";
import { html, type Html } from "./html.js";
import { live, page, type Viewer } from "./layout.js";

export type RunFilters = {
  org_id?: string | undefined;
  status?: string | undefined;
  app_version_id?: string | undefined;
};

/** Where a run came from: the CLI, the Action, or a push with its repo and commit. */
export function sourceText(run: Run): string {
  const where = [run.repo, run.sha?.slice(0, 7), run.ref].filter((p) => p).join(" ");
  return where ? `${run.source} · ${where}` : run.source;
}

/** Finished runs: wall time from submission to the last job's end; open ones: time so far. */
export function runDuration(run: Run, now: number): string {
  const end = run.finished_at === null ? now : Date.parse(run.finished_at);
  return duration(end - Date.parse(run.created_at));
}

function filterForm(filters: RunFilters, viewer: Viewer): Html {
  return html`<form class="filters" method="get" action="/">
    <label
      >Org
      ${
        viewer.orgId === null
          ? html`<input name="org_id" value="${filters.org_id ?? ""}" autocomplete="off" />`
          : html`<input value="${viewer.orgId}" disabled />`
      }
    </label>
    <label
      >Status
      <select name="status">
        <option value="">any</option>
        ${RUN_STATUSES.map(
          (s) =>
            html`<option value="${s}" ${filters.status === s ? html` selected` : ""}>${s}</option>`,
        )}
      </select>
    </label>
    <label
      >App version
      <input name="app_version_id" value="${filters.app_version_id ?? ""}" autocomplete="off" />
    </label>
    <button type="submit">Filter</button>
  </form>`;
}

export function runsTable(runs: Run[], now: number): Html {
  if (runs.length === 0) return html`<p class="empty">No runs match.</p>`;
  return html`<table class="cards">
    <caption class="sr-only">
      Runs, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Run</th>
        <th scope="col">Status</th>
        <th scope="col">Org</th>
        <th scope="col">Source</th>
        <th scope="col">App version</th>
        <th scope="col">Jobs</th>
        <th scope="col">Created</th>
        <th scope="col">Duration</th>
      </tr>
    </thead>
    <tbody>
      ${runs.map(
        (r) =>
          html`<tr>
            <td data-label="Run"><a href="/runs/${r.id}">${r.id}</a></td>
            <td data-label="Status">${statusLabel(r.status)}</td>
            <td data-label="Org">${r.org_id}</td>
            <td data-label="Source">${sourceText(r)}</td>
            <td data-label="App version">${r.app_version_ids.join(", ")}</td>
            <td data-label="Jobs">${r.counts.total} · ${countsText(r.counts)}</td>
            <td data-label="Created">${time(r.created_at)}</td>
            <td data-label="Duration">${runDuration(r, now)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function runsPage(opts: {
  viewer: Viewer;
  filters: RunFilters;
  runs: Run[];
  /** Link to the next (older) page, if any. */
  olderHref: string | null;
  now: number;
}): Html {
  return page({
    title: "Runs",
    section: "runs",
    viewer: opts.viewer,
    body: html`<h1>Runs</h1>
      ${filterForm(opts.filters, opts.viewer)} ${live("runs", runsTable(opts.runs, opts.now))}
      ${opts.olderHref && html`<p><a href="${opts.olderHref}">Older runs</a></p>`}`,
  });
}
