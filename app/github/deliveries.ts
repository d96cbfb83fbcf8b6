/**
 * Processes recorded webhook deliveries after they were answered. GitHub gives a delivery 10
 * seconds and does not retry one that timed out, so the route only records it (github_deliveries,
 * with its payload) and answers; this worker then claims due deliveries (on several replicas, each
 * is taken by one), handles each on its own (one installation's slow or rate-limited API holds up
 * no other's), and marks it processed. A failed one is tried again later: when GitHub's rate limit
 * says, after a backoff for a 5xx or a timeout, and given up (reason logged and kept) after a few
 * refusals. Unprocessed deliveries survive a restart: the next process claims them.
 */
import type { Logger } from "pino";
import type { GithubDeliveryRecord, Store } from "../store/store.js";
import { classifyGithubFailure } from "./failures.js";
import type { Delivery } from "./handlers.js";

export interface DeliveryWorkerOptions {
  /** The first retry's wait; doubled each time, up to MAX_BACKOFF_MS. */
  retryMs: number;
  /** How long a claimed delivery is held from other claimers (longer than processing takes). */
  holdMs?: number;
  /** Deliveries processed at once by this process. */
  concurrency?: number;
}

/** Refusals (4xx) before a delivery is given up. */
export const MAX_REFUSED_TRIES = 3;
/** Any failures before it is given up. */
export const MAX_TRIES = 8;
const MAX_BACKOFF_MS = 5 * 60_000;

export class DeliveryWorker {
  private timer: NodeJS.Timeout | null = null;
  private claiming: Promise<void> | null = null;
  private again = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly handle: (delivery: Delivery) => Promise<void>,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly opts: DeliveryWorkerOptions,
  ) {}

  /** Polls for due deliveries (retries, and those another replica recorded or left behind). */
  start(pollMs: number) {
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.claiming;
    await Promise.all(this.inFlight.values());
  }

  /** Looks for due deliveries now (a new one was just recorded). */
  kick() {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = this.claim().finally(() => {
      this.claiming = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Waits until nothing is being processed (for tests and shutdown). */
  async idle() {
    while (this.claiming || this.inFlight.size > 0) {
      await this.claiming;
      await Promise.all(this.inFlight.values());
    }
  }

  private async claim() {
    const room = (this.opts.concurrency ?? 32) - this.inFlight.size;
    if (room <= 0) return;
    let due: GithubDeliveryRecord[];
    try {
      due = await this.store.claimGithubDeliveries(
        this.clock(),
        room,
        this.opts.holdMs ?? 5 * 60_000,
      );
    } catch (err) {
      this.log.warn({ err }, "GitHub deliveries could not be claimed");
      return;
    }
    for (const d of due) {
      if (this.inFlight.has(d.id)) continue;
      const work = this.process(d).finally(() => this.inFlight.delete(d.id));
      this.inFlight.set(d.id, work);
    }
  }

  private async process(d: GithubDeliveryRecord) {
    const where = { delivery: d.id, event: d.event };
    try {
      await this.handle({ id: d.id, event: d.event, payload: JSON.parse(d.payload ?? "null") });
      await this.store.updateGithubDelivery(d.id, {
        processedAt: this.clock(),
        payload: null,
        attempts: d.attempts + 1,
        error: null,
      });
    } catch (err) {
      await this.failed(d, err, where).catch((e: unknown) =>
        this.log.warn({ ...where, error: String(e) }, "GitHub delivery state could not be saved"),
      );
    }
  }

  private async failed(d: GithubDeliveryRecord, err: unknown, where: object) {
    const now = this.clock();
    const failure = classifyGithubFailure(err, now);
    if (failure.kind === "limited") {
      this.log.warn(
        { ...where, retryInMs: failure.until - now, error: failure.reason },
        "GitHub rate limit: this delivery waits",
      );
      await this.store.updateGithubDelivery(d.id, { nextAttemptAt: failure.until });
      return;
    }
    const attempts = d.attempts + 1;
    const error = failure.reason;
    if ((failure.kind === "refused" && attempts >= MAX_REFUSED_TRIES) || attempts >= MAX_TRIES) {
      this.log.error({ ...where, attempts, error }, "GitHub delivery given up");
      await this.store.updateGithubDelivery(d.id, {
        attempts,
        processedAt: now,
        payload: null,
        error,
      });
      return;
    }
    const waitMs = Math.min(this.opts.retryMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    this.log.warn({ ...where, attempts, retryInMs: waitMs, error }, "GitHub delivery failed");
    await this.store.updateGithubDelivery(d.id, { attempts, nextAttemptAt: now + waitMs });
  }
}
