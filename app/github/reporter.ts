/**
 * Sends each check run's state to GitHub from the database: the rows say what was last sent and
 * when the next update may go. Every tick it renders the due rows' runs and sends what changed,
 * at most one state update per check run per interval (a busy run is coalesced into one), then
 * a completed run's annotations 50 per request. What was sent is written after each call, so a
 * restart picks up where the last process stopped, neither losing nor repeating an update.
 *
 * Loading a run is the expensive part, so a run is loaded again only when the store's change
 * feed says one of its jobs changed (or a minute passed, as a safety net).
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { presentJob, presentRun } from "../present.js";
import type { GithubCheckPatch, GithubCheckRecord, Store } from "../store/store.js";
import { ANNOTATIONS_PER_REQUEST, renderCheck, type CheckView } from "./check-output.js";
import type { Octokit } from "./repo-reader.js";

export interface ReporterOptions {
  /** The least time between two state updates of one check run. */
  minIntervalMs: number;
  /** Where the run pages are (QGJOB_PUBLIC_URL): a check run's details link. */
  publicUrl: string | null;
  /** Rows looked at per tick (a quiet one costs no I/O). */
  batch?: number;
}

const MAX_BACKOFF_MS = 10 * 60_000;
/** sent_status while a create is in flight. */
const CREATING = "creating";
/** A run nobody announced a change of is still looked at again after this long. */
const RESYNC_MS = 60_000;

export function detailsUrl(publicUrl: string | null, runId: string): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, "")}/runs/${runId}` : null;
}

const digest = (view: CheckView) =>
  createHash("sha256")
    .update(JSON.stringify([view.status, view.conclusion, view.output, view.actions]))
    .digest("hex");

export class CheckReporter {
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  /** Runs with a change-feed watch armed, and those whose watch fired since their last load. */
  private readonly watched = new Set<string>();
  private readonly changed = new Set<string>();
  private readonly stopped = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly octokitFor: (installationId: number) => Promise<Octokit>,
    private readonly log: Logger,
    private readonly opts: ReporterOptions,
  ) {
    // One abort listener per watched run.
    setMaxListeners(0, this.stopped.signal);
  }

  start(tickMs: number, clock: () => number = Date.now) {
    this.timer = setInterval(() => {
      if (!this.busy)
        this.busy = this.tick(clock()).finally(() => {
          this.busy = null;
        });
    }, tickMs);
    this.timer.unref();
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped.abort();
    await this.busy;
  }

  private watch(runId: string) {
    if (this.watched.has(runId) || this.stopped.signal.aborted) return;
    this.watched.add(runId);
    void this.store.changes.wait(`run:${runId}`, RESYNC_MS, this.stopped.signal).then(() => {
      this.watched.delete(runId);
      if (!this.stopped.signal.aborted) this.changed.add(runId);
    });
  }

  /** Sent, healthy, and nothing happened to its run since it was last loaded. */
  private isQuiet(row: GithubCheckRecord): boolean {
    return (
      row.checkRunId !== null &&
      row.failures === 0 &&
      this.watched.has(row.runId) &&
      !this.changed.has(row.runId)
    );
  }

  /** One pass over the due rows. Never throws: a failed row backs off and is tried again. */
  async tick(now: number): Promise<void> {
    // Held for one interval: a quiet row is looked at again then, and another replica's
    // reporter leaves it alone meanwhile.
    const due = await this.store.claimDueGithubChecks(
      now,
      this.opts.batch ?? 1000,
      this.opts.minIntervalMs,
    );
    for (const row of due) {
      if (this.isQuiet(row)) continue;
      try {
        await this.sync(row, now);
      } catch (err) {
        const failures = row.failures + 1;
        const waitMs = Math.min(this.opts.minIntervalMs * 2 ** failures, MAX_BACKOFF_MS);
        const e = err as { status?: number; message?: string };
        this.log.warn(
          { checkId: row.id, runId: row.runId, status: e.status, failures, retryInMs: waitMs },
          `GitHub check run update failed: ${e.message ?? String(err)}`,
        );
        await this.store.updateGithubCheck(row.id, { failures, nextUpdateAt: now + waitMs });
      }
    }
  }

  private async sync(row: GithubCheckRecord, now: number) {
    // Armed before the load: a change during it marks the run again.
    this.changed.delete(row.runId);
    this.watch(row.runId);
    const stored = await this.store.getRun(row.runId, { orgId: row.orgId });
    if (!stored) {
      await this.store.updateGithubCheck(row.id, { finished: true });
      return;
    }
    const run = { ...presentRun(stored), jobs: stored.jobs.map(presentJob) };
    const view = renderCheck(run, {
      testRoot: row.testRoot,
      detailsUrl: detailsUrl(this.opts.publicUrl, row.runId),
    });
    const sum = digest(view);
    const unchanged = row.checkRunId !== null && sum === row.sentDigest;
    if (unchanged && row.annotationsSent >= view.annotations.length) {
      // Nothing new: back of the queue, so every active check run gets its turn.
      await this.save(row, { nextUpdateAt: now });
      return;
    }
    const octokit = await this.octokitFor(row.installationId);
    let sent = { checkRunId: row.checkRunId!, annotations: row.annotationsSent };
    if (!unchanged) sent = await this.sendState(octokit, row, view, sum, now);

    // The rest of a completed run's annotations: GitHub appends each request's to the check run.
    while (view.status === "completed" && sent.annotations < view.annotations.length) {
      const next = view.annotations.slice(
        sent.annotations,
        sent.annotations + ANNOTATIONS_PER_REQUEST,
      );
      await octokit.rest.checks.update({
        owner: row.owner,
        repo: row.repo,
        check_run_id: sent.checkRunId,
        output: { ...view.output, annotations: next },
      });
      sent.annotations += next.length;
      await this.save(row, { annotationsSent: sent.annotations });
    }
    if (view.status === "completed") await this.save(row, { finished: true });
  }

  private save(row: GithubCheckRecord, patch: GithubCheckPatch) {
    return this.store.updateGithubCheck(row.id, { failures: 0, ...patch });
  }

  /** Creates the check run or updates its state, with the first 50 annotations. */
  private async sendState(
    octokit: Octokit,
    row: GithubCheckRecord,
    view: CheckView,
    sum: string,
    now: number,
  ): Promise<{ checkRunId: number; annotations: number }> {
    const first = view.annotations.slice(0, ANNOTATIONS_PER_REQUEST);
    const body = {
      owner: row.owner,
      repo: row.repo,
      status: view.status,
      ...(view.conclusion
        ? { conclusion: view.conclusion, completed_at: new Date(now).toISOString() }
        : {}),
      output: { ...view.output, ...(first.length > 0 ? { annotations: first } : {}) },
      ...(view.actions.length > 0 ? { actions: view.actions } : {}),
    };
    let checkRunId = row.checkRunId;
    if (checkRunId === null && row.sentStatus === CREATING) {
      checkRunId = await this.findCreated(octokit, row);
    }
    if (checkRunId === null) {
      // Marked first: if the process dies before the id is saved, the next one looks it up.
      await this.save(row, { sentStatus: CREATING });
      const url = detailsUrl(this.opts.publicUrl, row.runId);
      const res = await octokit.rest.checks.create({
        ...body,
        name: row.name,
        head_sha: row.sha,
        external_id: row.runId,
        ...(url ? { details_url: url } : {}),
      });
      checkRunId = res.data.id;
    } else {
      await octokit.rest.checks.update({ ...body, check_run_id: checkRunId });
    }
    await this.save(row, {
      checkRunId,
      sentStatus: view.status,
      sentDigest: sum,
      annotationsSent: first.length,
      nextUpdateAt: now + this.opts.minIntervalMs,
    });
    return { checkRunId, annotations: first.length };
  }

  /** The open check run a previous process created for this row but did not live to record. */
  private async findCreated(octokit: Octokit, row: GithubCheckRecord): Promise<number | null> {
    const { data } = await octokit.rest.checks.listForRef({
      owner: row.owner,
      repo: row.repo,
      ref: row.sha,
      check_name: row.name,
      filter: "all",
    });
    const open = data.check_runs
      .filter((c) => c.external_id === row.runId && c.status !== "completed")
      .sort((a, b) => b.id - a.id);
    return open[0]?.id ?? null;
  }
}
