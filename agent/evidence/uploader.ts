/**
 * Uploads the spool's blobs in the background, one at a time, while tests go on running: a
 * blob the server already has is not sent again; a network error or a 5xx is retried with
 * backoff (the blob stays in the spool, across restarts); a 4xx (too big, refused) drops it
 * with a log line, since sending it again cannot succeed. Results never wait for an upload.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { ApiError } from "../../api/client.js";
import type { Spool, SpooledBlob } from "./spool.js";

/** Where blobs go: the blob store's routes, through the API client. */
export interface BlobSink {
  has(orgId: string, sha256: string): Promise<boolean>;
  put(orgId: string, sha256: string, size: number, body: Readable): Promise<void>;
}

/** A blob older than this is given up (the attempt it belongs to is long gone). */
const MAX_AGE_MS = 24 * 3600 * 1000;
const IDLE_MS = 5_000;

/** Worth trying again: the network, or any 5xx (the server may be restarting or out of disk). */
export function transient(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true;
  return err.retryable || (err.status !== null && err.status >= 500);
}

export class Uploader {
  private wake: (() => void) | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private failures = 0;
  /** Blobs sent and bytes, for the agent's summary line. */
  readonly stats = { uploads: 0, uploadedBytes: 0 };

  constructor(
    private readonly spool: Spool,
    private readonly sink: BlobSink,
    private readonly log: Logger,
  ) {}

  start() {
    this.loop ??= this.work();
  }

  /** New blobs are waiting. */
  kick() {
    this.wake?.();
  }

  /** Stops after the blob being sent; what is left stays in the spool for the next start. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.kick();
    if (!this.loop) return;
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** Resolves once the spool holds no blob (or the uploader stopped): for tests and drains. */
  async idle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.spool.pendingBlobs()).length === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  private async work() {
    while (!this.stopped) {
      const blobs = await this.spool.pendingBlobs().catch(() => [] as SpooledBlob[]);
      let backoffMs = 0;
      for (const blob of blobs) {
        if (this.stopped) break;
        const ok = await this.send(blob);
        if (!ok) {
          backoffMs = Math.min(30_000, 500 * 2 ** this.failures++);
          break;
        }
        this.failures = 0;
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffMs || IDLE_MS);
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
        // A blob added during the backoff waits for it; one added while idle starts at once.
        if (backoffMs) this.wake = null;
      });
    }
  }

  /** False when it should be tried again later. */
  private async send(blob: SpooledBlob): Promise<boolean> {
    const log = this.log.child({ sha256: blob.sha256.slice(0, 12), bytes: blob.size });
    if (Date.now() - blob.savedAt > MAX_AGE_MS) {
      log.warn("evidence upload given up: older than a day");
      await this.spool.removeBlob(blob.sha256);
      return true;
    }
    try {
      if (!(await this.sink.has(blob.orgId, blob.sha256))) {
        const body = createReadStream(this.spool.blobPath(blob.sha256));
        await this.sink.put(blob.orgId, blob.sha256, blob.size, body);
        this.stats.uploads++;
        this.stats.uploadedBytes += blob.size;
      }
      await this.spool.removeBlob(blob.sha256);
      log.debug("evidence uploaded");
      return true;
    } catch (err) {
      if (transient(err)) {
        log.warn({ err: (err as Error).message }, "evidence upload failed; retrying later");
        return false;
      }
      log.error({ err: (err as Error).message }, "evidence upload refused; dropped");
      await this.spool.removeBlob(blob.sha256);
      return true;
    }
  }
}
