/**
 * Sends each check run's state to GitHub from the database: the rows say what was last sent and
 * when the next update may go. Every tick it renders the due rows' runs and sends what changed,
 * at most one state update per check run per interval (a busy run is coalesced into one), then
 * a completed run's annotations 50 per request. What was sent is written after each call, so a
 * restart picks up where the last process stopped, neither losing nor repeating an update.
 *
 * Loading a run is the expensive part, so a run is loaded again only when the store's change
 * feed says one of its jobs changed (or a minute passed, as a safety net).
 *
 * Each installation has a lane of its own: its rows are sent one after another (GitHub asks for
 * serial requests per installation), while other installations' lanes go on. A rate limit stops
 * only its installation's lane until GitHub's reset or retry-after time; a request that hangs
 * holds up only its lane, and for no longer than the request timeout.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { presentJob, presentRun } from "../present.js";
import type { LinkSigner } from "../evidence/links.js";
import { signedEvidence } from "../evidence/share.js";
import type { GithubCheckPatch, GithubCheckRecord, Store } from "../store/store.js";
import { ANNOTATIONS_PER_REQUEST, renderCheck, type CheckView } from "./check-output.js";
import { classifyGithubFailure } from "./failures.js";
import type { Octokit } from "./repo-reader.js";

export interface ReporterOptions {
  /** The least time between two state updates of one check run. */
  minIntervalMs: number;
  /** Where the run pages are (QGJOB_PUBLIC_URL): a check run's details link. */
  publicUrl: string | null;
  /** Rows looked at per tick (a quiet one costs no I/O). */
  batch?: number;
  /** Signs the failures' evidence links (with publicUrl), valid for the retention. */
  evidence?: { links: LinkSigner; retentionMs: number };
}

const MAX_BACKOFF_MS = 10 * 60_000;
/** A check run GitHub refused this many times in a row (a 4xx) is given up, with the reason. */
export const MAX_REFUSALS = 3;
/**
 * sent_status while a create may be in flight (or was, and failed): before creating, the row
 * looks on GitHub for the check run with its external_id that a create may have made.
 */
export const CREATING = "creating";
/** A run nobody announced a change of is still looked at again after this long. */
const RESYNC_MS = 60_000;

export function detailsUrl(publicUrl: string | null, runId: string): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, "")}/runs/${runId}` : null;
}

const digest = (view: CheckView) =>
  createHash("sha256")
    .update(JSON.stringify([view.status, view.conclusion, view.output, view.actions]))
    .digest("hex");

/** One installation's work: rows waiting, the one being sent, and how long GitHub wants a pause. */
interface Lane {
  queue: GithubCheckRecord[];
  ids: Set<string>;
  running: Promise<void> | null;
  blockedUntil: number;
}

export class CheckReporter {
  private timer: NodeJS.Timeout | null = null;
  private claiming: Promise<void> | null = null;
  private readonly lanes = new Map<number, Lane>();
  /** The time of the latest tick: what a lane's work counts from. */
  private now = 0;
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
      // Claims do not overlap; lanes keep working across ticks.
      if (!this.claiming)
        this.claiming = this.claim(clock()).finally(() => {
          this.claiming = null;
        });
    }, tickMs);
    this.timer.unref();
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped.abort();
    await this.claiming;
    for (const lane of this.lanes.values()) lane.queue.length = 0;
    await Promise.all([...this.lanes.values()].map((l) => l.running));
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
      row.sentStatus !== CREATING &&
      row.failures === 0 &&
      this.watched.has(row.runId) &&
      !this.changed.has(row.runId)
    );
  }

  /** Claims the due rows and hands them to their installations' lanes; does not wait for them. */
  private async claim(now: number): Promise<void> {
    this.now = now;
    try {
      // Held for one interval: a quiet row is looked at again then, and another replica's
      // reporter leaves it alone meanwhile.
      const due = await this.store.claimDueGithubChecks(
        now,
        this.opts.batch ?? 1000,
        this.opts.minIntervalMs,
      );
      for (const row of due) {
        if (this.isQuiet(row)) continue;
        let lane = this.lanes.get(row.installationId);
        if (!lane) {
          lane = { queue: [], ids: new Set(), running: null, blockedUntil: 0 };
          this.lanes.set(row.installationId, lane);
        }
        if (lane.ids.has(row.id)) continue;
        lane.ids.add(row.id);
        lane.queue.push(row);
        if (!lane.running) {
          const l = lane;
          l.running = this.drain(l).finally(() => {
            l.running = null;
          });
        }
      }
    } catch (err) {
      this.log.warn({ err }, "GitHub check rows could not be claimed");
    }
  }

  /** One pass: claims the due rows and waits until every lane is idle. Never throws. */
  async tick(now: number): Promise<void> {
    await this.claim(now);
    await Promise.all([...this.lanes.values()].map((l) => l.running));
  }

  private async drain(lane: Lane) {
    for (let row = lane.queue.shift(); row; row = lane.queue.shift()) {
      const now = this.now;
      try {
        if (lane.blockedUntil > now) {
          // GitHub asked this installation to wait: the row goes back until then.
          await this.store.updateGithubCheck(row, { nextUpdateAt: lane.blockedUntil });
          continue;
        }
        await this.sync(row, now);
      } catch (err) {
        await this.failed(lane, row, err, now).catch((e: unknown) =>
          this.log.warn({ err: e, checkId: row!.id }, "GitHub check row could not be saved"),
        );
      } finally {
        lane.ids.delete(row.id);
      }
    }
  }

  /** A failed call: wait as GitHub asks, back off, or give up on a refused check run. */
  private async failed(lane: Lane, row: GithubCheckRecord, err: unknown, now: number) {
    const failure = classifyGithubFailure(err, now);
    const where = { installationId: row.installationId, checkId: row.id, runId: row.runId };
    if (failure.kind === "limited") {
      lane.blockedUntil = Math.max(lane.blockedUntil, failure.until);
      this.log.warn(
        { ...where, retryInMs: failure.until - now, error: failure.reason },
        "GitHub rate limit: this installation's check runs wait",
      );
      await this.store.updateGithubCheck(row, { nextUpdateAt: failure.until });
      return;
    }
    const failures = row.failures + 1;
    if (failure.kind === "refused" && failures >= MAX_REFUSALS) {
      const error = `GitHub refused the check run ${row.name} (${failure.reason})`;
      this.log.error({ ...where, failures, error }, "GitHub check run given up");
      await this.store.updateGithubCheck(row, { failures, finished: true, error });
      return;
    }
    const waitMs = Math.min(this.opts.minIntervalMs * 2 ** failures, MAX_BACKOFF_MS);
    this.log.warn(
      { ...where, failures, retryInMs: waitMs, error: failure.reason },
      "GitHub check run update failed",
    );
    await this.store.updateGithubCheck(row, { failures, nextUpdateAt: now + waitMs });
  }
  private async sync(row: GithubCheckRecord, now: number) {
    // Armed before the load: a change during it marks the run again.
    this.changed.delete(row.runId);
    this.watch(row.runId);
    const stored = await this.store.getRun(row.runId, { orgId: row.orgId });
    if (!stored) {
      await this.store.updateGithubCheck(row, { finished: true });
      return;
    }
    const run = { ...presentRun(stored), jobs: stored.jobs.map(presentJob) };
    const { publicUrl, evidence } = this.opts;
    const view = renderCheck(run, {
      testRoot: row.testRoot,
      detailsUrl: detailsUrl(publicUrl, row.runId),
      evidence:
        publicUrl && evidence
          ? (job) => signedEvidence(job, { base: publicUrl, ...evidence })
          : null,
    });
    const sum = digest(view);
    const unchanged =
      row.checkRunId !== null && row.sentStatus !== CREATING && sum === row.sentDigest;
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
    return this.store.updateGithubCheck(row, { failures: 0, ...patch });
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
      ...(view.startedAt ? { started_at: view.startedAt } : {}),
      ...(view.conclusion
        ? {
            conclusion: view.conclusion,
            completed_at: view.completedAt ?? new Date(now).toISOString(),
          }
        : {}),
      output: { ...view.output, ...(first.length > 0 ? { annotations: first } : {}) },
      ...(view.actions.length > 0 ? { actions: view.actions } : {}),
    };
    let checkRunId = row.sentStatus === CREATING ? null : row.checkRunId;
    if (row.sentStatus === CREATING) checkRunId = await this.findCreated(octokit, row);
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

  /**
   * The check run a create may have made without its answer arriving (a 502 or a timeout after
   * GitHub did the work, a process that died): one with this run's external_id newer than the
   * check run this row had before (a re-run opens a new one with the same name and external_id).
   */
  private async findCreated(octokit: Octokit, row: GithubCheckRecord): Promise<number | null> {
    const { data } = await octokit.rest.checks.listForRef({
      owner: row.owner,
      repo: row.repo,
      ref: row.sha,
      check_name: row.name,
      filter: "all",
    });
    const made = data.check_runs
      .filter((c) => c.external_id === row.runId && c.id > (row.checkRunId ?? 0))
      .sort((a, b) => b.id - a.id);
    return made[0]?.id ?? null;
  }
}
