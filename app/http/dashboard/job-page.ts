/**
 * One job, attempt by attempt: each try's status, its whole failure message, and the evidence
 * its agent reported (the log, screenshots, videos, traces), missing files with their reason.
 * A flaky test shows its failing attempt next to the passing one. Results of agents from before
 * the blob store carry a `url` instead (a link the agent gave), shown as such.
 */
import type { Job } from "../../../api/schemas.js";
import type { AttemptRecord } from "../../store/store.js";
import { stripAnsi } from "../../../report/text.js";
import { duration, safeLink, statusLabel, time } from "./format.js";
import { html, type Html } from "./html.js";
import { page, type Viewer } from "./layout.js";
import { failurePlace } from "./run-page.js";

const size = (bytes: number | undefined) =>
  bytes === undefined
    ? ""
    : bytes < 1024
      ? `${bytes} B`
      : bytes < 1024 * 1024
        ? `${(bytes / 1024).toFixed(1)} KB`
        : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

function attemptSection(a: AttemptRecord): Html {
  const r = a.result;
  const artifacts = r?.artifacts ?? [];
  return html`<section class="attempt" id="attempt-${a.attempt}">
    <h2>Attempt ${a.attempt}: ${statusLabel(a.status)}</h2>
    <p>
      ${a.startedAt === null ? "" : time(new Date(a.startedAt).toISOString())} ·
      ${duration(a.durationMs)} · agent <code>${a.agentId}</code>
    </p>
    ${r?.message && html`<pre class="failure">${stripAnsi(r.message)}</pre>`}
    ${
      artifacts.length > 0 &&
      html`<ul class="evidence">
        ${artifacts.map(
          (f) =>
            html`<li>
              <span class="tag">${f.kind ?? "file"}</span>
              ${f.url ? safeLink(f.url, f.name) : html`<code>${f.name}</code>`} ${size(f.size)}
              ${f.missing && html`<span class="missing">missing: ${f.missing}</span>`}
            </li>`,
        )}
      </ul>`
    }
  </section>`;
}

export function jobPage(opts: { viewer: Viewer; job: Job; attempts: AttemptRecord[] }): Html {
  const { job } = opts;
  const place = failurePlace(job);
  return page({
    title: job.test_path,
    section: "runs",
    viewer: opts.viewer,
    body: html`<p><a href="/runs/${job.run_id}">Run ${job.run_id}</a></p>
      <h1><code>${job.test_path}</code></h1>
      <p>
        ${statusLabel(job.status)}${job.flaky && html` <span class="tag flaky">flaky</span>`} ·
        ${job.target} · app
        ${job.app_version_id}${place && html` · <code class="place">${place}</code>`}
      </p>
      ${opts.attempts.length === 0 ? html`<p>No attempt has run yet.</p>` : opts.attempts.map(attemptSection)}`,
  });
}
