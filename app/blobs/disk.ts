/**
 * Blobs as files under one directory (the embedded default, beside the SQLite file):
 * `<root>/<first two hex digits>/<sha256>`. An upload is written to `<root>/.incoming/`, flushed
 * to disk, verified, then renamed into place, so a name only ever holds complete, checked bytes.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { mkdir, rename, rm, stat, statfs, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobStore, ByteRange, PutOutcome } from "./store.js";
import { QgjobError } from "../errors.js";
import { VerifyingStream } from "./verify.js";

/** A disk that filled during an upload: 503, for the uploader to try again later. */
function diskFull(err: unknown): QgjobError | null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== "ENOSPC" && code !== "EDQUOT") return null;
  return new QgjobError("storage_unavailable", "the blob store's disk is full: try again later");
}

export class DiskBlobStore implements BlobStore {
  readonly engine = "disk";
  private readonly incoming: string;

  constructor(private readonly root: string) {
    this.incoming = join(root, ".incoming");
    mkdirSync(this.incoming, { recursive: true });
  }

  private path(sha256: string) {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async put(sha256: string, body: Readable, maxBytes: number): Promise<PutOutcome> {
    const temp = join(this.incoming, randomUUID());
    const verify = new VerifyingStream(sha256, maxBytes);
    try {
      // flush: fsync before close, so an acknowledged upload survives a power cut.
      await pipeline(body, verify, createWriteStream(temp, { flush: true }));
      const final = this.path(sha256);
      if (await this.stat(sha256)) {
        await unlink(temp);
        return { size: verify.bytes, created: false };
      }
      await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
      await rename(temp, final);
      return { size: verify.bytes, created: true };
    } catch (err) {
      await rm(temp, { force: true });
      throw diskFull(err) ?? err;
    }
  }

  async stat(sha256: string) {
    try {
      return { size: (await stat(this.path(sha256))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable | null> {
    if (!(await this.stat(sha256))) return null;
    return createReadStream(this.path(sha256), range ?? {});
  }

  async delete(sha256: string) {
    await rm(this.path(sha256), { force: true });
  }

  /** Free: what this process may still write (blocks kept for root excluded). */
  async space() {
    const fs = await statfs(this.root);
    return { free: fs.bavail * fs.bsize, size: fs.blocks * fs.bsize };
  }
}
