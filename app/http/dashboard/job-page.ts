/**
 * One job, attempt by attempt: each try's status, its whole failure message, its output log with
 * the terminal's colours, screenshots inline, videos in a player, traces opening in the trace
 * viewer this server serves, and every other file with its size or the reason it is missing.
 * A flaky test shows its failing attempt next to the passing one. Links carry a signed token,
 * so the page's images, videos and the viewer load without the API token.
 */
import {
  traceViewerUrl,
  type AttemptEvidence,
  type StoredArtifact,
} from "../../../api/artifacts.js";
import type { Job } from "../../../api/schemas.js";
import { isTerminal } from "../../../api/status.js";
import { stripAnsi } from "../../../report/text.js";
import { ansiToHtml } from "./ansi.js";
import { duration, pathCode, statusLabel, time } from "./format.js";
import { html, type Html } from "./html.js";
import { live, liveEvents, page, type Viewer } from "./layout.js";
import { failurePlace } from "./run-page.js";

export interface AttemptView extends AttemptEvidence {
  /** The attempt's output log as stored (its end, when long), or null when there is none yet. */
  log: { text: string; skipped: number; url: string } | null;
}

const size = (bytes: number | null) =>
  bytes === null
    ? ""
    : bytes < 1024
      ? `${bytes} B`
      : bytes < 1024 * 1024
        ? `${(bytes / 1024).toFixed(1)} KB`
        : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/** Only this server's bytes are shown inline; an external (provider) file is a link. */
const isImage = (f: StoredArtifact) =>
  f.state === "stored" && /^image\/(png|jpeg|gif|webp)$/.test(f.content_type);
const isVideo = (f: StoredArtifact) => f.state === "stored" && f.kind === "video";

function fileItem(f: StoredArtifact): Html {
  const name = f.url ? html`<a href="${f.url}">${f.name}</a>` : html`<code>${f.name}</code>`;
  const trace =
    f.kind === "trace" &&
    f.state === "stored" &&
    f.url &&
    html` ·
      <a href="${traceViewerUrl(f.url)}" target="_blank" rel="noopener"
        >open in the trace viewer</a
      >`;
  return html`<li>
    <span class="tag">${f.kind}</span> ${name} ${size(f.size)}${trace}
    ${f.missing && html`<span class="missing">${f.state}: ${f.missing}</span>`}
  </li>`;
}

function media(files: StoredArtifact[]): Html {
  const shown = files.filter((f) => isImage(f) || isVideo(f));
  if (shown.length === 0) return html``;
  return html`<div class="media">
    ${shown.map((f) =>
      isVideo(f)
        ? html`<figure>
            <video controls preload="metadata" src="${f.url}"></video>
            <figcaption>${f.name}</figcaption>
          </figure>`
        : html`<figure>
            <a href="${f.url}"><img src="${f.url}" alt="${f.name}" loading="lazy" /></a>
            <figcaption>${f.name}</figcaption>
          </figure>`,
    )}
  </div>`;
}

function logView(log: NonNullable<AttemptView["log"]>): Html {
  return html`<details class="log" open>
    <summary>
      Output log${log.skipped > 0 && html` (the last part; ${size(log.skipped)} before it)`} ·
      <a href="${log.url}">download</a>
    </summary>
    <pre class="log">${ansiToHtml(log.text)}</pre>
  </details>`;
}

function attemptSection(a: AttemptView): Html {
  return html`<section class="attempt" id="attempt-${a.attempt}">
    <h2>Attempt ${a.attempt}: ${statusLabel(a.status)}</h2>
    <p>${time(a.started_at)} · ${duration(a.duration_ms)} · agent <code>${a.agent_id}</code></p>
    ${a.message && html`<pre class="failure">${stripAnsi(a.message)}</pre>`} ${media(a.artifacts)}
    ${a.log && logView(a.log)}
    ${
      a.artifacts.length > 0 &&
      html`<ul class="evidence">
        ${a.artifacts.map(fileItem)}
      </ul>`
    }
  </section>`;
}

export function jobPage(opts: { viewer: Viewer; job: Job; attempts: AttemptView[] }): Html {
  const { job } = opts;
  const place = failurePlace(job);
  return page({
    title: job.test_path,
    section: "runs",
    viewer: opts.viewer,
    body: html`<p><a href="/runs/${job.run_id}">Run ${job.run_id}</a></p>
      <h1>${pathCode(job.test_path)}</h1>
      ${liveEvents(`/runs/${job.run_id}/events`)}
      ${live(
        "job-status",
        html`<p>
          ${statusLabel(job.status)}${job.flaky && html` <span class="tag flaky">flaky</span>`} ·
          ${job.target} · app
          ${job.app_version_id}${place && html` · <code class="place">${place}</code>`}
        </p>`,
      )}
      ${live(
        "job-attempts",
        opts.attempts.length === 0
          ? html`<p>No attempt has run yet.</p>`
          : html`${opts.attempts.map(attemptSection)}`,
      )}
      ${!isTerminal(job.status) && liveLog(job)}`,
  });
}

/** The running test's output as it comes (the live script appends each chunk). */
function liveLog(job: Job): Html {
  return html`<section class="attempt">
    <h2>Live output</h2>
    <pre class="live-log" data-log="/jobs/${job.id}/log/events" aria-live="off">
Waiting for output…</pre>
  </section>`;
}
