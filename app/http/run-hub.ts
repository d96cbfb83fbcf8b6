/**
 * Watchers of a run share one reader per run and replica: it sleeps on the run's change-feed
 * topic (fed by every replica through the Postgres listener), reads the run once per change and
 * hands each watcher only the jobs that changed. 500 watchers of one run cost one read per
 * change, not 500; each watcher's own cost is its socket buffer, capped by SseStream. The reads
 * are of the jobs' summaries (Store.getRunPage): a wake-up never re-reads every result.
 *
 * Event ids are the reader's clock (ms) at the read that produced them. A watcher resuming with
 * `Last-Event-ID: T` gets every unfinished job and every job finished since T (minus a margin
 * for clocks of other replicas): whatever changed after T is one of those, and a job event
 * carries the whole job, so a repeat is harmless.
 */
import type { Run } from "../../api/schemas.js";
import { RUN_PAGE_MAX } from "../../api/schemas.js";
import { isRunOpen, isTerminal } from "../../api/status.js";
import type { JobRecord, RunView, Store } from "../store/store.js";
import { presentJob, presentRun } from "../present.js";
import type { SseStream } from "./sse.js";

/** Re-read this often even without a wake-up: a lost notification delays, never loses. */
const RECHECK_MS = 2000;
/** After a failed read, the next one comes this soon (or at the run's next change). */
const RETRY_MS = 500;
/** Replicas' clocks may disagree this much about when a job finished. */
const RESUME_MARGIN_MS = 5000;

type RunWithJobsView = RunView & { jobs: JobRecord[] };

interface Watcher {
  stream: SseStream;
  /** Where it resumes from (a Last-Event-ID), or null for a full snapshot first. */
  resumeFrom: number | null;
  primed: boolean;
}

const finished = (run: Run) => !isRunOpen(run.status);

/** What a watcher must hear about a job again when it changed. */
const fingerprint = (j: JobRecord) =>
  [j.status, j.attempts, j.flaky, j.leaseId, j.startedAt, j.finishedAt, j.supersededBy].join("|");

class RunFeed {
  readonly watchers = new Set<Watcher>();
  private readonly seen = new Map<string, string>();
  private run: Run | null = null;
  private jobs: JobRecord[] = [];
  private readAt = 0;
  /** The last read, serialised once for every watcher. */
  private text: { run: string; snapshot: string | null } = { run: "null", snapshot: null };
  private readonly firstRead: Promise<void>;
  private firstReadDone!: () => void;
  private readonly stop = new AbortController();

  constructor(
    private readonly runId: string,
    private readonly store: Store,
    private readonly clock: () => number,
    shutdown: AbortSignal,
    private readonly onIdle: () => void,
  ) {
    shutdown.addEventListener("abort", () => this.stop.abort(), { once: true });
    this.firstRead = new Promise((r) => (this.firstReadDone = r));
  }

  /** The run as last read (null: it does not exist), once the first read is done. */
  async current(): Promise<Run | null> {
    await this.firstRead;
    return this.run;
  }

  /** Stops reading when nobody watches (a lookup whose caller was then refused). */
  stopIfUnwatched(): void {
    if (this.watchers.size === 0) this.stop.abort();
  }

  get stopping(): boolean {
    return this.stop.signal.aborted;
  }

  add(w: Watcher) {
    this.watchers.add(w);
    w.stream.signal.addEventListener("abort", () => this.remove(w), { once: true });
    if (this.run) this.prime(w);
  }

  private remove(w: Watcher) {
    this.watchers.delete(w);
    if (this.watchers.size === 0) this.stop.abort();
  }

  async loop(): Promise<void> {
    try {
      while (!this.stop.signal.aborted) {
        const view = await this.read();
        if (view === undefined) {
          // A failed read (the database busy or away for a moment) must not end every
          // watcher's stream without `end`: they keep their streams and the reader tries again.
          await this.store.changes.wait(`run:${this.runId}`, RETRY_MS, this.stop.signal);
          continue;
        }
        if (!view) break;
        if (this.stop.signal.aborted) break;
        this.publish(view);
        if (this.run && finished(this.run)) break;
        await this.store.changes.wait(`run:${this.runId}`, RECHECK_MS, this.stop.signal);
      }
    } finally {
      this.stop.abort();
      this.firstReadDone();
      for (const w of this.watchers) w.stream.close();
      this.onIdle();
    }
  }

  /** The run with every current job, summarised, a page at a time; null when there is no such
   * run, undefined when the read failed. */
  private async read(): Promise<RunWithJobsView | null | undefined> {
    try {
      const all = { orgId: null };
      const first = await this.store.getRunPage(this.runId, all, { limit: RUN_PAGE_MAX });
      if (!first) return null;
      const jobs = [...first.jobs];
      for (let cursor = first.nextCursor; cursor !== null;) {
        const next = await this.store.getRunPage(this.runId, all, { limit: RUN_PAGE_MAX, cursor });
        if (!next) return null;
        jobs.push(...next.jobs);
        cursor = next.nextCursor;
      }
      return { ...first, jobs };
    } catch {
      return undefined;
    }
  }

  private publish(view: RunWithJobsView) {
    this.readAt = this.clock();
    this.run = presentRun(view);
    this.jobs = view.jobs;
    this.text = { run: JSON.stringify(this.run), snapshot: null };
    const changed: string[] = [];
    for (const j of view.jobs) {
      const print = fingerprint(j);
      if (this.seen.get(j.id) === print) continue;
      this.seen.set(j.id, print);
      changed.push(JSON.stringify(presentJob(j)));
    }
    this.firstReadDone();
    for (const w of this.watchers) {
      if (!w.primed) this.prime(w);
      else if (changed.length > 0) this.send(w, changed);
    }
  }

  /** A new watcher's first events: the whole run, or what it may have missed since it left. */
  private prime(w: Watcher) {
    w.primed = true;
    const id = String(this.readAt);
    if (w.resumeFrom === null) {
      this.text.snapshot ??= JSON.stringify({ ...this.run!, jobs: this.jobs.map(presentJob) });
      w.stream.sendJson("snapshot", this.text.snapshot, id);
    } else {
      const since = w.resumeFrom - RESUME_MARGIN_MS;
      const missed = this.jobs.filter(
        (j) => !isTerminal(j.status) || (j.finishedAt ?? Infinity) >= since,
      );
      this.send(
        w,
        missed.map((j) => JSON.stringify(presentJob(j))),
      );
    }
    if (finished(this.run!)) w.stream.sendJson("end", this.text.run, id);
  }

  private send(w: Watcher, jobs: string[]) {
    for (const job of jobs) if (!w.stream.sendJson("job", job)) return;
    // The id goes on the run event that closes each batch: a watcher that left mid-batch
    // resumes from the batch before and hears all of this one again.
    const id = String(this.readAt);
    if (!w.stream.sendJson("run", this.text.run, id)) return;
    if (finished(this.run!)) w.stream.sendJson("end", this.text.run, id);
  }
}

export class RunHub {
  private readonly feeds = new Map<string, RunFeed>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    private readonly shutdown: AbortSignal,
  ) {}

  /** The run as its feed last read it (starting one), or null when there is no such run. */
  async find(runId: string): Promise<Run | null> {
    return this.feedOf(runId).current();
  }

  /** After a find() whose caller may not watch the run: its reader need not stay for them. */
  refused(runId: string): void {
    this.feeds.get(runId)?.stopIfUnwatched();
  }

  /** Streams the run's changes into `stream` until the run finishes or the stream ends. */
  watch(runId: string, stream: SseStream, lastEventId: number | null): void {
    this.feedOf(runId).add({ stream, resumeFrom: lastEventId, primed: false });
  }

  private feedOf(runId: string): RunFeed {
    let feed = this.feeds.get(runId);
    if (!feed || feed.stopping) {
      const created = new RunFeed(runId, this.store, this.clock, this.shutdown, () => {
        if (this.feeds.get(runId) === created) this.feeds.delete(runId);
      });
      feed = created;
      this.feeds.set(runId, feed);
      void feed.loop().catch(() => undefined);
    }
    return feed;
  }

  /** Runs watched now, and their watchers (for metrics and tests). */
  get watching(): { runs: number; watchers: number } {
    let watchers = 0;
    for (const f of this.feeds.values()) watchers += f.watchers.size;
    return { runs: this.feeds.size, watchers };
  }
}
