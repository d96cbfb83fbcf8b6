/**
 * Retention (QGJOB_RETENTION_DAYS): in the background, blobs no run has used for that long
 * (evidence, bundles, builds) are removed, a bounded batch at a time, so a sweep never holds the
 * database long; a tick does at most `maxBatches` and the next tick goes on where it stopped.
 * Every replica sweeps: holdings another replica is dropping are skipped, and removing bytes
 * twice is harmless. A hash used again as its bytes go is taken again by the next upload.
 */
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/store.js";
import type { BlobStore } from "./store.js";

export interface RetentionOptions {
  retentionMs: number;
  intervalMs: number;
  clock: () => number;
  logger: Logger;
  /** Holdings dropped per transaction. */
  batch?: number;
  maxBatches?: number;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly store: Store,
    private readonly bytes: BlobStore,
    private readonly removed: Metrics["blobsRemoved"],
    private readonly opts: RetentionOptions,
  ) {}

  start() {
    this.timer = setInterval(() => void this.sweep(), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** One tick: the number of blobs whose bytes were removed. Never throws. */
  sweep(): Promise<number> {
    this.sweeping ??= this.run().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async run(): Promise<number> {
    const { batch = 500, maxBatches = 20, logger } = this.opts;
    const before = this.opts.clock() - this.opts.retentionMs;
    let removed = 0;
    try {
      for (let i = 0; i < maxBatches && !this.stopped; i++) {
        const { dropped, orphans } = await this.store.expireBlobs(before, batch);
        for (const sha256 of orphans) {
          await this.bytes.delete(sha256);
          removed++;
          this.removed.inc();
        }
        if (dropped < batch) break;
      }
      if (removed > 0) logger.info({ removed }, "retention: blobs no run used lately removed");
    } catch (err) {
      logger.warn({ err }, "retention sweep failed; the next one goes on");
    }
    return removed;
  }
}
