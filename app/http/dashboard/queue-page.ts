/** The queue: per-target counts, the groups waiting, and what each target's next idle agent gets. */
import type { QueueOverview } from "../../../api/schemas.js";
import type { NextLeaseView } from "../../store/store.js";
import { duration, time } from "./format.js";
import { html, type Html } from "./html.js";
import { live, page, type Viewer } from "./layout.js";

const REASONS: Record<string, string> = {
  starving: "it has waited past the starvation bound",
  priority: "it has the highest priority",
  fair_share: "its org has used the least device time lately",
  affinity: "the agent already has this app version installed",
  oldest: "it has waited longest (or is the only group it may run)",
};

function who(next: NextLeaseView): string {
  if (next.agent === null) return "A new agent (none is idle, nothing installed)";
  return next.agent.name === null ? "The next idle fleet agent" : `Idle agent ${next.agent.name}`;
}

export function nextLeaseItem(next: NextLeaseView): Html {
  const d = next.decision;
  const what = d
    ? html`gets <strong>${d.jobIds.length} ${d.jobIds.length === 1 ? "job" : "jobs"}</strong> of org
        <strong>${d.orgId}</strong>, app version <strong>${d.appVersionId}</strong> (about
        ${duration(d.expectedMs)} of
        work${d.install ? ", installs the build first" : ", no install"}), because
        ${REASONS[d.reason] ?? d.reason}.`
    : html`gets nothing: no queued group it may run.`;
  return html`<li><strong>${next.target}</strong>: ${who(next)} ${what}</li>`;
}

function targetsTable(q: QueueOverview): Html {
  return html`<table class="cards">
    <thead>
      <tr>
        <th scope="col">Target</th>
        <th scope="col">Queued</th>
        <th scope="col">Leased</th>
        <th scope="col">Running</th>
        <th scope="col">Agents idle</th>
        <th scope="col">Agents busy</th>
      </tr>
    </thead>
    <tbody>
      ${q.targets.map(
        (t) =>
          html`<tr>
            <td data-label="Target">${t.target}</td>
            <td data-label="Queued">${t.queued}</td>
            <td data-label="Leased">${t.leased}</td>
            <td data-label="Running">${t.running}</td>
            <td data-label="Agents idle">${t.agents_idle}</td>
            <td data-label="Agents busy">${t.agents_busy}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function groupsTable(q: QueueOverview): Html {
  if (q.groups.length === 0) return html`<p class="empty">Nothing is queued.</p>`;
  return html`<table class="cards">
    <thead>
      <tr>
        <th scope="col">Target</th>
        <th scope="col">Org</th>
        <th scope="col">App version</th>
        <th scope="col">Jobs queued</th>
        <th scope="col">Oldest wait</th>
        <th scope="col">Priority</th>
        <th scope="col">Expected work</th>
        <th scope="col">Devices on it</th>
      </tr>
    </thead>
    <tbody>
      ${q.groups.map(
        (g) =>
          html`<tr>
            <td data-label="Target">${g.target}</td>
            <td data-label="Org">${g.org_id}</td>
            <td data-label="App version">${g.app_version_id}</td>
            <td data-label="Jobs queued">${g.queued}</td>
            <td data-label="Oldest wait">
              ${duration(g.oldest_wait_s * 1000)}
              <span class="muted">(since ${time(g.oldest_queued_at)})</span>
            </td>
            <td data-label="Priority">${g.priority}</td>
            <td data-label="Expected work">${duration(g.expected_work_s * 1000)}</td>
            <td data-label="Devices on it">${g.active_leases}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function queuePage(opts: {
  viewer: Viewer;
  queue: QueueOverview;
  next: NextLeaseView[];
}): Html {
  return page({
    title: "Queue",
    section: "queue",
    viewer: opts.viewer,
    body: html`<h1>Queue</h1>
      <h2>Next lease per target</h2>
      ${live(
        "queue-next",
        html`<ul class="next">
          ${opts.next.map(nextLeaseItem)}
        </ul>`,
      )}
      <h2>Groups waiting</h2>
      ${live("queue-groups", groupsTable(opts.queue))}
      <h2>Targets</h2>
      ${live("queue-targets", targetsTable(opts.queue))}`,
  });
}
