/**
 * The agent's on-disk spool: every result and every evidence file is written here before it is
 * sent, and removed only once the server has acknowledged it (or refused it for good). A
 * restarted agent finds what is left and sends it, so neither a lost connection nor a killed
 * agent loses a result the test produced.
 *
 *   <dir>/results/<lease>~<job>~<attempt>.json   a result body, with its lease and job
 *   <dir>/blobs/<sha256>                          an evidence file waiting for its upload
 *   <dir>/blobs/<sha256>.json                     what the upload needs (org, size, type)
 *
 * Files are written under a temporary name and renamed, so a crash leaves either the whole
 * entry or nothing; leftovers of an interrupted write (`*.tmp`) are swept on open.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ResultRequest } from "../../api/schemas.js";

export interface SpooledResult {
  leaseId: string;
  jobId: string;
  attempt: number;
  body: ResultRequest;
  savedAt: number;
}

export interface SpooledBlob {
  sha256: string;
  size: number;
  orgId: string;
  contentType: string;
  savedAt: number;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

export class Spool {
  readonly results: string;
  readonly blobs: string;

  constructor(readonly dir: string) {
    this.results = path.join(dir, "results");
    this.blobs = path.join(dir, "blobs");
  }

  async open(): Promise<this> {
    await mkdir(this.results, { recursive: true });
    await mkdir(this.blobs, { recursive: true });
    for (const sub of [this.results, this.blobs]) {
      for (const name of await readdir(sub)) {
        if (name.endsWith(".tmp")) await rm(path.join(sub, name), { force: true });
      }
    }
    return this;
  }

  private resultPath(r: { leaseId: string; jobId: string; attempt: number }): string {
    if (!SAFE_ID.test(r.leaseId) || !SAFE_ID.test(r.jobId)) {
      throw new Error(`unexpected id in result: ${r.leaseId} ${r.jobId}`);
    }
    return path.join(this.results, `${r.leaseId}~${r.jobId}~${r.attempt}.json`);
  }

  async saveResult(r: SpooledResult): Promise<void> {
    await writeAtomically(this.resultPath(r), JSON.stringify(r));
  }

  async removeResult(r: { leaseId: string; jobId: string; attempt: number }): Promise<void> {
    await rm(this.resultPath(r), { force: true });
  }

  /** Results still waiting for the server's answer, oldest first. */
  async pendingResults(): Promise<SpooledResult[]> {
    return (await readEntries<SpooledResult>(this.results)).sort((a, b) => a.savedAt - b.savedAt);
  }

  /**
   * Copies a file into the spool, hashing it on the way (one read), and records it for upload.
   * Rejects when the file cannot be read or the spool cannot hold it (a full disk).
   */
  async addBlob(
    file: string,
    meta: { orgId: string; contentType: string },
    now = Date.now(),
  ): Promise<SpooledBlob> {
    const tmp = path.join(this.blobs, `${randomBytes(8).toString("hex")}.tmp`);
    const hash = createHash("sha256");
    let size = 0;
    try {
      await pipeline(
        createReadStream(file),
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        }),
        createWriteStream(tmp, { flags: "wx" }),
      );
      const sha256 = hash.digest("hex");
      const blob: SpooledBlob = { sha256, size, savedAt: now, ...meta };
      await rename(tmp, this.blobPath(sha256));
      await writeAtomically(`${this.blobPath(sha256)}.json`, JSON.stringify(blob));
      return blob;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  blobPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.blobs, sha256);
  }

  async removeBlob(sha256: string): Promise<void> {
    await rm(`${this.blobPath(sha256)}.json`, { force: true });
    await rm(this.blobPath(sha256), { force: true });
  }

  /** Blobs waiting for upload, oldest first (a blob whose file is gone is dropped). */
  async pendingBlobs(): Promise<SpooledBlob[]> {
    const out: SpooledBlob[] = [];
    for (const blob of await readEntries<SpooledBlob>(this.blobs)) {
      const file = await stat(this.blobPath(blob.sha256)).catch(() => null);
      if (file?.size === blob.size) out.push(blob);
      else await this.removeBlob(blob.sha256);
    }
    return out.sort((a, b) => a.savedAt - b.savedAt);
  }
}

async function writeAtomically(file: string, text: string) {
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text, { flag: "wx" });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The JSON entries of a spool folder; an unreadable one (torn by a crash) is removed. */
async function readEntries<T>(dir: string): Promise<T[]> {
  const out: T[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(".json")) continue;
    const file = path.join(dir, name);
    try {
      out.push(JSON.parse(await readFile(file, "utf8")) as T);
    } catch {
      await rm(file, { force: true });
    }
  }
  return out;
}
