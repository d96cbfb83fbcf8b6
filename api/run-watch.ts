/**
 * Following a run for the CLI and the Action: its event stream when the server has one
 * (GET /runs/{id}/events, one request for the whole run), the long-poll wait endpoint otherwise
 * (an older server, a proxy that does not pass event streams). `next(waitS)` answers the run
 * after its next change, or as it stands when `waitS` passes, so the caller's loop is the same
 * either way. A dropped stream is opened again from the last event id; the failure is thrown
 * (retryable) so that the caller's "server lost" handling applies.
 */
import { ApiError, type QgjobClient } from "./client.js";
import { Job, Run, RunWithJobs } from "./schemas.js";
import type { SseEvent } from "./sse.js";

/** Waiting for the first answer takes at least this long, however short `waitS` is. */
const FIRST_ANSWER_MS = 10_000;

export class RunWatch {
  private run: RunWithJobs | null = null;
  /** The run's jobs by id, in id (submission) order; folded into `run` at each batch's end. */
  private jobs = new Map<string, Job>();
  private events: AsyncGenerator<SseEvent> | null = null;
  private pending: Promise<IteratorResult<SseEvent>> | null = null;
  private lastEventId: string | null = null;
  private readonly closed = new AbortController();
  /** True once the server turned out to have no event stream: long polls from then on. */
  polling = false;
  /** HTTP requests made, for the benchmark. */
  requests = 0;

  constructor(
    private readonly client: Pick<QgjobClient, "runEvents" | "waitRun">,
    readonly runId: string,
    /** The run as the caller already knows it (e.g. the submission's answer). */
    known?: RunWithJobs,
  ) {
    this.run = known ?? null;
  }

  async next(waitS: number): Promise<RunWithJobs> {
    if (!this.polling) {
      const run = await this.fromStream(this.run ? waitS * 1000 : FIRST_ANSWER_MS);
      if (run) return run;
    }
    this.requests++;
    this.run = await this.client.waitRun(this.runId, this.run ? waitS : 0);
    return this.run;
  }

  close(): void {
    this.closed.abort();
    void this.events?.return(undefined).catch(() => undefined);
  }

  /** The run after the next batch of events (or as it is at the deadline); null: poll instead. */
  private async fromStream(waitMs: number): Promise<RunWithJobs | null> {
    if (!this.events) {
      try {
        this.requests++;
        this.events = await this.client.runEvents(this.runId, {
          lastEventId: this.lastEventId,
          signal: this.closed.signal,
        });
      } catch (err) {
        if (!(err instanceof ApiError) || err.retryable) throw err;
        if (err.status === 401 || err.status === 403) throw err;
        // No event stream here (404 from an older server, 406 from a proxy): poll.
        this.polling = true;
        return null;
      }
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 && this.run) return this.run;
      this.pending ??= this.events.next();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">(
        (r) => (timer = setTimeout(r, Math.max(0, left), "timeout")),
      );
      let step: IteratorResult<SseEvent> | "timeout";
      try {
        step = await Promise.race([this.pending, timeout]);
      } catch (err) {
        this.events = this.pending = null;
        throw new ApiError(
          "network",
          "GET",
          `/api/v1/runs/${this.runId}/events`,
          null,
          "stream_lost",
          `the event stream broke (${(err as Error).message})`,
        );
      } finally {
        clearTimeout(timer);
      }
      if (step === "timeout") {
        if (this.run) return this.run;
        continue;
      }
      this.pending = null;
      if (step.done) {
        // The server ended the stream without `end` (it is shutting down): open it again.
        this.events = null;
        if (this.run) return this.run;
        return this.fromStream(Math.max(0, deadline - Date.now()));
      }
      if (this.apply(step.value)) return this.run!;
    }
  }

  /** Folds one event into the run; true at the end of a batch (the run is consistent). */
  private apply(e: SseEvent): boolean {
    if (e.id !== null) this.lastEventId = e.id;
    const data: unknown = JSON.parse(e.data);
    if (e.event === "snapshot") {
      this.run = RunWithJobs.parse(data);
      this.jobs = new Map(this.run.jobs.map((j) => [j.id, j]));
      return true;
    }
    if (!this.run) return false;
    if (e.event === "job") {
      const job = Job.parse(data);
      // A re-run's new job stands in for the old one, as in GET /runs/{id}.
      if (job.superseded_by === null) this.jobs.set(job.id, job);
      else this.jobs.delete(job.id);
      return false;
    }
    if (e.event === "run" || e.event === "end") {
      this.run = { ...Run.parse(data), jobs: [...this.jobs.values()] };
      return true;
    }
    return false;
  }
}
