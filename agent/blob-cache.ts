/**
 * The agent's on-disk cache of blobs it fetched from the server (test bundles, app builds), one
 * file per SHA-256. A blob is downloaded once, checked against its hash before it takes its name,
 * and kept until the cache is over its byte budget, when the least recently used go first
 * (a hit touches the file's mtime, which is the LRU clock).
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { QgjobClient } from "../api/client.js";

const SHA256 = /^[0-9a-f]{64}$/;

export class BlobCacheError extends Error {
  override name = "BlobCacheError";
}

export interface BlobCacheStats {
  hits: number;
  downloads: number;
  evicted: number;
}

export class BlobCache {
  readonly stats: BlobCacheStats = { hits: 0, downloads: 0, evicted: 0 };
  /** One download per hash at a time, however many leases ask. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly client: Pick<QgjobClient, "downloadBlob">,
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** The local path of blob `sha256`, downloaded and verified when not cached. */
  async get(sha256: string): Promise<string> {
    if (!SHA256.test(sha256)) throw new BlobCacheError(`not a SHA-256: ${sha256}`);
    const path = join(this.dir, sha256);
    if (await stat(path).catch(() => null)) {
      const now = new Date();
      await utimes(path, now, now);
      this.stats.hits++;
      return path;
    }
    let fetching = this.pending.get(sha256);
    if (!fetching) {
      fetching = this.fetch(sha256, path).finally(() => this.pending.delete(sha256));
      this.pending.set(sha256, fetching);
    }
    return fetching;
  }

  private async fetch(sha256: string, path: string): Promise<string> {
    await mkdir(join(this.dir, ".incoming"), { recursive: true });
    const temp = join(this.dir, ".incoming", randomUUID());
    try {
      await this.client.downloadBlob(sha256, temp);
      const hash = createHash("sha256");
      await pipeline(createReadStream(temp), hash);
      const actual = hash.digest("hex");
      if (actual !== sha256) {
        throw new BlobCacheError(`blob ${sha256} arrived with SHA-256 ${actual}; not used`);
      }
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    this.stats.downloads++;
    await this.evict(sha256);
    return path;
  }

  /** Drops the least recently used blobs (never `keep`) until the cache fits its budget. */
  private async evict(keep: string) {
    const entries = [];
    for (const name of await readdir(this.dir)) {
      if (!SHA256.test(name)) continue;
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (st) entries.push({ name, size: st.size, used: st.mtimeMs });
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      if (e.name === keep || this.pending.has(e.name)) continue;
      await rm(join(this.dir, e.name), { force: true });
      total -= e.size;
      this.stats.evicted++;
    }
  }
}
