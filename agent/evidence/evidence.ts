/**
 * The agent's evidence and results, through the spool: what LeaseSession calls. A result is
 * spooled before it is posted and unspooled once the server answered it (accepted, or refused
 * for good: a 409 from an ended lease means a late result that changes nothing); artifacts are
 * spooled with their result and uploaded in the background. A restarted agent posts what its
 * spool still holds, then uploads the rest.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { Artifact, ResultRequest } from "../../api/schemas.js";
import type { TestOutcome } from "../runners/runner.js";
import { collectEvidence, type EvidenceLimits } from "./collect.js";
import { captureLogcat, type LogcatOptions } from "./logcat.js";
import { Spool, type SpooledResult } from "./spool.js";
import { transient, Uploader, type BlobSink } from "./uploader.js";

export type PostResult<T> = (leaseId: string, jobId: string, body: ResultRequest) => Promise<T>;

export class Evidence {
  private constructor(
    readonly spool: Spool,
    readonly uploader: Uploader,
    private readonly log: Logger,
    private readonly limits?: EvidenceLimits,
  ) {}

  /** `dir` null: a fresh temporary spool (nothing survives a restart). */
  static async open(opts: {
    dir: string | null;
    sink: BlobSink;
    logger: Logger;
    limits?: EvidenceLimits;
  }): Promise<Evidence> {
    const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), "qgjob-spool-")));
    const spool = await new Spool(dir).open();
    const log = opts.logger.child({ spool: dir });
    return new Evidence(spool, new Uploader(spool, opts.sink, log), log, opts.limits);
  }

  /**
   * The attempt's artifacts for its result, their files spooled for upload; with `logcat`,
   * the device log since the test started is one of them.
   */
  async collect(
    outcome: TestOutcome,
    orgId: string,
    logcat?: { opts: LogcatOptions; since: Date },
  ): Promise<Artifact[]> {
    const tmp = logcat ? await mkdtemp(path.join(tmpdir(), "qgjob-logcat-")) : null;
    try {
      if (logcat && tmp) {
        const file = path.join(tmp, "logcat.txt");
        const failed = await captureLogcat(logcat.opts, logcat.since, file);
        if (failed) this.log.warn({ job: outcome.jobId, err: failed }, "no logcat");
        if (((await stat(file).catch(() => null))?.size ?? 0) > 0) {
          outcome = {
            ...outcome,
            artifacts: [
              ...outcome.artifacts,
              { name: "logcat.txt", path: file, content_type: "text/plain" },
            ],
          };
        }
      }
      return await collectEvidence(outcome, { spool: this.spool, orgId, limits: this.limits });
    } finally {
      if (tmp) await rm(tmp, { recursive: true, force: true });
      this.uploader.kick();
    }
  }

  /**
   * Posts a result through the spool: kept on disk until the server answers. Throws what the
   * post threw; the entry stays only when the error was transient (the next start resends it).
   */
  async send<T>(entry: Omit<SpooledResult, "savedAt">, post: PostResult<T>): Promise<T> {
    const spooled = { ...entry, savedAt: Date.now() };
    await this.spool.saveResult(spooled).catch((err: Error) => {
      // A full disk must not cost the result: it is posted anyway, just not kept.
      this.log.warn({ err: err.message }, "result not spooled");
    });
    try {
      const res = await post(entry.leaseId, entry.jobId, entry.body);
      await this.spool.removeResult(entry);
      return res;
    } catch (err) {
      if (!transient(err)) await this.spool.removeResult(entry);
      throw err;
    }
  }

  /** On start: posts every result a previous run of this agent left, then starts uploading. */
  async resend<T>(post: PostResult<T>): Promise<void> {
    for (const entry of await this.spool.pendingResults()) {
      const log = this.log.child({ lease: entry.leaseId, job: entry.jobId });
      try {
        await post(entry.leaseId, entry.jobId, entry.body);
        await this.spool.removeResult(entry);
        log.info({ attempt: entry.attempt }, "spooled result posted");
      } catch (err) {
        if (transient(err)) {
          log.warn({ err: (err as Error).message }, "spooled result not posted yet");
          continue;
        }
        // Fenced: the lease ended meanwhile, so the server has settled that attempt already.
        log.warn({ err: (err as Error).message }, "spooled result refused; dropped");
        await this.spool.removeResult(entry);
      }
    }
    this.uploader.start();
  }
}
