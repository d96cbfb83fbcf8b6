/**
 * Streams running tests' output to the server as it comes: cut into numbered chunks of at most
 * 4 KiB (between UTF-8 characters; bytes that are not UTF-8 become U+FFFD), posted every
 * `flushMs`, one post at a time. Memory is bounded: past `maxBufferedBytes` per job, output is
 * dropped and counted (the server shows watchers how much), never queued. The live log is a
 * view: the attempt's full log is its output.log artifact, written separately.
 */
import { StringDecoder } from "node:string_decoder";
import type { Logger } from "pino";
import { ApiError, type QgjobClient } from "../api/client.js";
import { LOG_CHUNK_MAX_BYTES, LOG_CHUNKS_PER_POST } from "../api/logs.js";

export interface LiveLogOptions {
  flushMs?: number;
  maxBufferedBytes?: number;
  /** finish() waits at most this long for the last chunks to go out. */
  finishMs?: number;
}

export interface OutputSink {
  write(chunk: Buffer): void;
}

/** Where a cut may fall at or before `max`: not inside a UTF-8 character. */
function cutAt(buf: Buffer, max: number): number {
  if (buf.length <= max) return buf.length;
  let i = max;
  while (i > 0 && (buf[i]! & 0xc0) === 0x80) i--;
  return i;
}

class JobOutput implements OutputSink {
  private readonly decoder = new StringDecoder("utf8");
  /** Whole chunks waiting to be posted, and the bytes not yet cut into one. */
  readonly chunks: { seq: number; data: Buffer }[] = [];
  private partial = Buffer.alloc(0);
  private buffered = 0;
  private seq = 0;
  dropped = 0;
  droppedChunks = 0;
  /** The server refused this job's log (the job or lease is gone): drop everything. */
  refused = false;

  constructor(
    readonly jobId: string,
    readonly attempt: number,
    private readonly maxBuffered: number,
  ) {}

  write(chunk: Buffer): void {
    if (this.refused) return;
    const bytes = Buffer.from(this.decoder.write(chunk), "utf8");
    if (this.buffered + bytes.length > this.maxBuffered) {
      this.dropped += bytes.length;
      this.droppedChunks++;
      return;
    }
    this.buffered += bytes.length;
    this.partial = this.partial.length ? Buffer.concat([this.partial, bytes]) : bytes;
    this.cut(LOG_CHUNK_MAX_BYTES);
  }

  get pending(): boolean {
    return this.chunks.length > 0 || this.partial.length > 0;
  }

  /** Cuts whole chunks; with `all`, the partial one too (the flush is due). */
  cut(minBytes: number): void {
    while (this.partial.length >= minBytes && this.partial.length > 0) {
      const at = cutAt(this.partial, LOG_CHUNK_MAX_BYTES);
      this.chunks.push({ seq: this.seq++, data: this.partial.subarray(0, at) });
      this.partial = this.partial.subarray(at);
    }
  }

  /** The next post's chunks (they stay queued until it succeeds). */
  take(): { seq: number; data: Buffer }[] {
    this.cut(1);
    return this.chunks.slice(0, LOG_CHUNKS_PER_POST);
  }

  sent(count: number): void {
    for (const c of this.chunks.splice(0, count)) this.buffered -= c.data.length;
  }
}

export class LiveLogSender {
  private readonly jobs = new Map<string, JobOutput>();
  private readonly flushMs: number;
  private readonly maxBuffered: number;
  private readonly finishMs: number;
  private timer: NodeJS.Timeout | null = null;
  private posting: Promise<void> = Promise.resolve();
  private readonly closed = new AbortController();
  /** For the agent's lease line: chunks posted and dropped. */
  readonly stats = { logChunks: 0, logChunksDropped: 0 };

  constructor(
    private readonly client: QgjobClient,
    private readonly leaseId: string,
    private readonly log: Pick<Logger, "debug">,
    opts: LiveLogOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 250;
    this.maxBuffered = opts.maxBufferedBytes ?? LOG_CHUNK_MAX_BYTES * LOG_CHUNKS_PER_POST;
    this.finishMs = opts.finishMs ?? 2000;
  }

  /** The sink for one attempt of a job (a new attempt starts its own numbering). */
  open(jobId: string, attempt: number): OutputSink {
    const out = new JobOutput(jobId, attempt, this.maxBuffered);
    this.jobs.set(jobId, out);
    return {
      write: (chunk) => {
        out.write(chunk);
        this.timer ??= setTimeout(() => this.flush(), this.flushMs);
      },
    };
  }

  /** Sends what the job's attempt left unsent (within `finishMs`), then forgets it. */
  async finish(jobId: string): Promise<void> {
    const out = this.jobs.get(jobId);
    if (!out) return;
    const deadline = Date.now() + this.finishMs;
    // A failed post ends it: the result must not wait on a server that is away.
    while (out.pending && !out.refused && Date.now() < deadline && !this.closed.signal.aborted) {
      if (!(await this.post())) break;
    }
    if (this.jobs.get(jobId) === out) this.jobs.delete(jobId);
    this.stats.logChunksDropped += out.droppedChunks;
  }

  close(): void {
    this.closed.abort();
    if (this.timer) clearTimeout(this.timer);
    for (const out of this.jobs.values()) this.stats.logChunksDropped += out.droppedChunks;
    this.jobs.clear();
  }

  private flush() {
    this.timer = null;
    void this.post().then(() => {
      const more = [...this.jobs.values()].some((o) => o.pending && !o.refused);
      if (more && !this.closed.signal.aborted) {
        this.timer ??= setTimeout(() => this.flush(), this.flushMs);
      }
    });
  }

  /** One post per job with output, one at a time; false when one failed. */
  private post(): Promise<boolean> {
    const done = this.posting.then(async () => {
      let ok = true;
      for (const out of this.jobs.values()) {
        if (out.refused || this.closed.signal.aborted) continue;
        const chunks = out.take();
        if (chunks.length === 0) continue;
        try {
          await this.client.postLog(
            this.leaseId,
            out.jobId,
            {
              attempt: out.attempt,
              dropped_bytes: out.dropped,
              chunks: chunks.map((c) => ({ seq: c.seq, data: c.data.toString("base64") })),
            },
            this.closed.signal,
          );
          out.sent(chunks.length);
          this.stats.logChunks += chunks.length;
        } catch (err) {
          ok = false;
          // Refused for good (the job ended, the lease is gone): stop; else the next flush retries.
          if (err instanceof ApiError && err.kind === "http" && !err.retryable) out.refused = true;
          this.log.debug({ job: out.jobId, err: (err as Error).message }, "live log not posted");
        }
      }
      return ok;
    });
    this.posting = done.then(() => undefined);
    return done;
  }
}
