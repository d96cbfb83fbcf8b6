/** The agents: what each device is, has installed and is doing, and whether it is still there. */
import type { Agent, Job } from "../../../api/schemas.js";
import { isHeld } from "../../../api/status.js";
import { duration, pathCode, statusLabel, time } from "./format.js";
import { html, type Html } from "./html.js";
import { live, page, type Viewer } from "./layout.js";

/** The job an agent is running now, else the first it holds. */
export function currentJob(agent: Agent, leaseJobs: Job[]): Job | null {
  const held = leaseJobs.filter((j) => j.lease_id === agent.lease_id && isHeld(j.status));
  return held.find((j) => j.status === "running") ?? held[0] ?? null;
}

function leaseCell(agent: Agent, leaseJobs: Job[]): Html {
  if (agent.lease_id === null) return html`–`;
  const job = currentJob(agent, leaseJobs);
  const open = leaseJobs.filter((j) => j.lease_id === agent.lease_id && isHeld(j.status)).length;
  return html`<code>${agent.lease_id}</code>${
      job &&
      html`<br />${job.status}
        <a href="/runs/${job.run_id}#job-${job.id}">${pathCode(job.test_path)}</a>
        <span class="muted">(${open} open in this lease)</span>`
    }`;
}

/** Drained: unhealthy, with the errors that drained it (newest first) and how to end it. */
function stateCell(agent: Agent): Html {
  if (!agent.drained_at) return statusLabel(agent.state);
  const errors = [...(agent.recent_errors ?? [])].reverse();
  return html`${statusLabel("drained")}
    <span class="muted"
      >since ${time(agent.drained_at)}; takes no work until
      <code>qgjob agents undrain ${agent.id}</code></span
    >
    <ul class="drain-errors">
      ${errors.map(
        (e) =>
          html`<li>
            ${time(e.at)}: ${e.message ?? "no message"}
            <span class="muted">(job <code>${e.job_id}</code>)</span>
          </li>`,
      )}
    </ul>`;
}

export function agentsPage(opts: {
  viewer: Viewer;
  agents: Agent[];
  leaseJobs: Job[];
  now: number;
}): Html {
  const table =
    opts.agents.length === 0
      ? html`<p class="empty">No agent has registered.</p>`
      : html`<table class="cards">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">State</th>
              <th scope="col">Target</th>
              <th scope="col">Device</th>
              <th scope="col">Installed</th>
              <th scope="col">Lease and job</th>
              <th scope="col">Last heartbeat</th>
            </tr>
          </thead>
          <tbody>
            ${opts.agents.map(
              (a) =>
                html`<tr>
                  <td data-label="Agent">
                    ${a.name}${a.org_id === null ? html` <span class="tag">fleet</span>` : ""}
                  </td>
                  <td data-label="State">${stateCell(a)}</td>
                  <td data-label="Target">${a.target}</td>
                  <td data-label="Device">${a.device ?? "–"}</td>
                  <td data-label="Installed">
                    ${a.installed.length > 0 ? a.installed.join(", ") : "nothing"}
                  </td>
                  <td data-label="Lease and job">${leaseCell(a, opts.leaseJobs)}</td>
                  <td data-label="Last heartbeat">
                    ${duration(opts.now - Date.parse(a.last_seen_at))} ago
                    <span class="muted">(${time(a.last_seen_at)})</span>
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  return page({
    title: "Agents",
    section: "agents",
    viewer: opts.viewer,
    body: html`<h1>Agents</h1>
      ${live("agents", table)}`,
  });
}
