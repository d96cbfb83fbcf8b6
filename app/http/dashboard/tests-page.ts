/**
 * The Tests page (each test's rates, run times and a sparkline of its last outcomes) and a test's
 * own page (its history, recent runs, last failures and quarantine). The sparklines are inline
 * SVG drawn here: no script, no client framework, and nothing the CSP would refuse.
 */
import type { TestDetail, TestRun, TestSummary } from "../../../api/schemas.js";
import { TARGETS, TEST_SORTS } from "../../../api/schemas.js";
import type { TestOutcome } from "../../../api/status.js";
import { duration, pathCode, time } from "./format.js";
import { html, type Html } from "./html.js";
import { page, type Viewer } from "./layout.js";

export type TestFilters = {
  org_id?: string | undefined;
  repo?: string | undefined;
  target?: string | undefined;
  path?: string | undefined;
  flaky?: string | undefined;
  quarantined?: string | undefined;
  sort?: string | undefined;
};

/** Bar height per outcome: a failure stands tallest, a pass is a low tick. */
const BAR: Record<TestOutcome, number> = { passed: 5, flaky: 10, error: 10, failed: 16 };
const BAR_W = 3;
const GAP = 1;
const SPARK_H = 16;

/** Counts of each outcome, for the sparkline's text alternative. */
function outcomeText(outcomes: readonly TestOutcome[]): string {
  if (outcomes.length === 0) return "no runs";
  const n = (o: TestOutcome) => outcomes.filter((x) => x === o).length;
  const parts = (["passed", "flaky", "failed", "error"] as const)
    .filter((o) => n(o) > 0)
    .map((o) => `${n(o)} ${o}`);
  return `last ${outcomes.length} runs, oldest first: ${parts.join(", ")}`;
}

/** One bar per outcome, oldest on the left, bottom-aligned, coloured by outcome. */
export function sparkline(outcomes: readonly TestOutcome[], scale = 1): Html {
  const width = Math.max(1, outcomes.length * (BAR_W + GAP)) * scale;
  const label = outcomeText(outcomes);
  return html`<svg
    class="spark"
    role="img"
    aria-label="${label}"
    width="${width}"
    height="${SPARK_H * scale}"
    viewBox="0 0 ${width / scale} ${SPARK_H}"
  >
    <title>${label}</title>
    ${outcomes.map(
      (o, i) =>
        html`<rect
          class="o-${o}"
          x="${i * (BAR_W + GAP)}"
          y="${SPARK_H - BAR[o]}"
          width="${BAR_W}"
          height="${BAR[o]}"
        />`,
    )}
  </svg>`;
}

const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const signed = (ms: number) => (ms > 0 ? `+${duration(ms)}` : ms < 0 ? `−${duration(-ms)}` : "±0");

function quarantineText(t: TestSummary): Html {
  const q = t.quarantine;
  if (!q) return html`–`;
  return html`<span class="tag quarantined" title="${q.reason}">quarantined</span> until
    ${time(q.expires_at)}`;
}

function filterForm(filters: TestFilters, viewer: Viewer): Html {
  const text = (name: keyof TestFilters, label: string) =>
    html`<label
      >${label} <input name="${name}" value="${filters[name] ?? ""}" autocomplete="off"
    /></label>`;
  const choice = (
    name: keyof TestFilters,
    label: string,
    options: readonly string[],
    any: string,
  ) =>
    html`<label
      >${label}
      <select name="${name}">
        <option value="">${any}</option>
        ${options.map(
          (o) =>
            html`<option value="${o}" ${filters[name] === o ? html` selected` : ""}>
              ${o.replace("_", " ")}
            </option>`,
        )}
      </select></label
    >`;
  return html`<form class="filters" method="get" action="/tests">
    ${viewer.orgId === null && text("org_id", "Org")} ${text("path", "Path contains")}
    ${text("repo", "Repository")} ${choice("target", "Target", TARGETS, "any")}
    ${choice("flaky", "Flaky", ["true", "false"], "any")}
    ${choice("quarantined", "Quarantined", ["true", "false"], "any")}
    ${choice("sort", "Sort by", TEST_SORTS, "flake rate")}
    <button type="submit">Filter</button>
  </form>`;
}

export function testsPage(opts: {
  viewer: Viewer;
  filters: TestFilters;
  tests: TestSummary[];
  nextHref: string | null;
}): Html {
  const table =
    opts.tests.length === 0
      ? html`<p class="empty">No test matches (history starts with the first result).</p>`
      : html`<table class="cards">
          <thead>
            <tr>
              <th scope="col">Test</th>
              <th scope="col">Target</th>
              <th scope="col">Runs</th>
              <th scope="col">Flake rate</th>
              <th scope="col">Failure rate</th>
              <th scope="col">p50 / p95</th>
              <th scope="col">Change</th>
              <th scope="col">Last runs</th>
              <th scope="col">Quarantine</th>
            </tr>
          </thead>
          <tbody>
            ${opts.tests.map(
              (t) =>
                html`<tr>
                  <td data-label="Test">
                    <a href="/tests/${t.id}">${pathCode(t.test_path)}</a>
                    ${t.repo && html`<br /><span class="muted">${t.repo}</span>`}
                  </td>
                  <td data-label="Target">${t.target}</td>
                  <td data-label="Runs">${t.runs}</td>
                  <td data-label="Flake rate">${percent(t.flake_rate)}</td>
                  <td data-label="Failure rate">${percent(t.failure_rate)}</td>
                  <td data-label="p50 / p95">${duration(t.p50_ms)} / ${duration(t.p95_ms)}</td>
                  <td data-label="Change">${signed(t.duration_change_ms)}</td>
                  <td data-label="Last runs">${sparkline(t.recent)}</td>
                  <td data-label="Quarantine">${quarantineText(t)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  return page({
    title: "Tests",
    section: "tests",
    viewer: opts.viewer,
    body: html`<h1>Tests</h1>
      ${filterForm(opts.filters, opts.viewer)} ${table}
      ${opts.nextHref && html`<p><a href="${opts.nextHref}">Next page</a></p>`}`,
  });
}

function runsTable(runs: TestRun[], caption: string): Html {
  if (runs.length === 0) return html`<p class="empty">None.</p>`;
  return html`<table class="cards">
    <caption class="sr-only">
      ${caption}
    </caption>
    <thead>
      <tr>
        <th scope="col">Finished</th>
        <th scope="col">Outcome</th>
        <th scope="col">Duration</th>
        <th scope="col">Run</th>
        <th scope="col">Message</th>
      </tr>
    </thead>
    <tbody>
      ${runs.map(
        (r) =>
          html`<tr>
            <td data-label="Finished">${time(r.finished_at)}</td>
            <td data-label="Outcome">
              <span class="status o-${r.outcome}">${r.outcome}</span>
              ${
                r.quarantined_until &&
                r.outcome === "failed" &&
                html`<span class="tag quarantined">quarantined</span>`
              }
            </td>
            <td data-label="Duration">${duration(r.duration_ms)}</td>
            <td data-label="Run"><a href="/runs/${r.run_id}#job-${r.job_id}">${r.run_id}</a></td>
            <td data-label="Message">${r.message ?? ""}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function quarantineForm(t: TestDetail, viewer: Viewer): Html {
  const q = t.quarantine;
  const state = q
    ? html`<p>
        <span class="tag quarantined">quarantined</span> until ${time(q.expires_at)}:
        ${q.reason}${q.owner && html` (owner ${q.owner})`}${q.automatic && " · by the flake-rate rule"}.
        Its failures fail no run.
      </p>`
    : html`<p class="muted">Not quarantined: its failures fail their runs.</p>`;
  if (!viewer.canSubmit) return state;
  const action = `/tests/${t.id}/quarantine`;
  return html`${state}
  ${
    q
      ? html`<form method="post" action="${action}/end">
          <button type="submit">End quarantine</button>
        </form>`
      : html`<form class="filters" method="post" action="${action}">
          <label>Reason <input name="reason" required maxlength="500" /></label>
          <label>Owner <input name="owner" maxlength="200" /></label>
          <label
            >Days <input name="days" type="number" min="1" max="90" value="14" required
          /></label>
          <button type="submit">Quarantine</button>
        </form>`
  }`;
}

export function testPage(opts: { viewer: Viewer; test: TestDetail }): Html {
  const t = opts.test;
  return page({
    title: t.test_path,
    section: "tests",
    viewer: opts.viewer,
    body: html`<h1>${pathCode(t.test_path)}</h1>
      <p class="muted">
        ${t.org_id}${t.repo && html` · ${t.repo}`} · ${t.target} · first seen
        ${time(t.first_seen_at)}
      </p>
      <p>${sparkline(t.recent, 2)}</p>
      <dl class="summary">
        <div>
          <dt>Runs</dt>
          <dd>${t.runs}</dd>
        </div>
        <div>
          <dt>Passed · flaky · failed · errors</dt>
          <dd>${t.passed} · ${t.flaky} · ${t.failed} · ${t.errors}</dd>
        </div>
        <div>
          <dt>Flake rate</dt>
          <dd>${percent(t.flake_rate)}</dd>
        </div>
        <div>
          <dt>Failure rate</dt>
          <dd>${percent(t.failure_rate)}</dd>
        </div>
        <div>
          <dt>p50 / p95</dt>
          <dd>${duration(t.p50_ms)} / ${duration(t.p95_ms)}</dd>
        </div>
        <div>
          <dt>Change in duration</dt>
          <dd>${signed(t.duration_change_ms)}</dd>
        </div>
        <div>
          <dt>Last passed</dt>
          <dd>${time(t.last_passed_at)}</dd>
        </div>
        <div>
          <dt>Last failed</dt>
          <dd>${time(t.last_failed_at)}</dd>
        </div>
      </dl>
      <h2>Quarantine</h2>
      ${quarantineForm(t, opts.viewer)}
      <h2>Last failures</h2>
      ${runsTable(t.last_failures, "Last failures, newest first")}
      <h2>Recent runs</h2>
      ${runsTable(t.recent_runs, "Recent runs, newest first")}`,
  });
}
