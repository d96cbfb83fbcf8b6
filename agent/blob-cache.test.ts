/**
 * The agent's blob cache against a real server: one download per hash, hits touch the LRU
 * clock, a blob whose bytes do not match its hash is never used, and the budget evicts the
 * least recently used.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../api/client.js";
import { startTestServer, tempDir, type TestServer } from "../test/harness.js";
import { BlobCache, BlobCacheError } from "./blob-cache.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("BlobCache", () => {
  let server: TestServer;
  let client: QgjobClient;
  const dir = tempDir("qgjob-blob-cache-");
  const blobs: Record<string, Buffer> = {};

  beforeAll(async () => {
    server = await startTestServer();
    client = new QgjobClient({ baseUrl: server.url, retries: 0 });
    for (const name of ["a", "b", "c"]) {
      const bytes = Buffer.alloc(1000, name);
      const path = join(dir, `${name}.apk`);
      await writeFile(path, bytes);
      await client.uploadBlob(
        { path, sha256: sha(bytes), bytes: 1000 },
        { org_id: "acme", kind: "build" },
      );
      blobs[name] = bytes;
    }
  });
  afterAll(() => server.close());

  it("downloads a blob once, verified; later asks are hits", async () => {
    const cache = new BlobCache(client, join(dir, "cache1"), 10_000);
    const [one, two] = await Promise.all([cache.get(sha(blobs.a!)), cache.get(sha(blobs.a!))]);
    expect(one).toBe(two);
    expect((await readFile(one)).equals(blobs.a!)).toBe(true);
    expect(await cache.get(sha(blobs.a!))).toBe(one);
    expect(cache.stats).toEqual({ hits: 1, downloads: 1, evicted: 0 });
  });

  it("refuses bytes that do not match the hash, keeping nothing", async () => {
    const lying = {
      downloadBlob: async (_sha: string, path: string) => writeFile(path, "tampered"),
    };
    const cacheDir = join(dir, "cache2");
    const cache = new BlobCache(lying, cacheDir, 10_000);
    const err = await cache.get(sha(blobs.a!)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobCacheError);
    expect(await readdir(cacheDir)).toEqual([".incoming"]);
    expect(await readdir(join(cacheDir, ".incoming"))).toEqual([]);
  });

  it("evicts the least recently used blob past its byte budget", async () => {
    const cacheDir = join(dir, "cache3");
    const cache = new BlobCache(client, cacheDir, 2500);
    const a = await cache.get(sha(blobs.a!));
    const b = await cache.get(sha(blobs.b!));
    // a was used before b; a hit on a makes b the least recent.
    await utimes(a, new Date(1000), new Date(1000));
    await utimes(b, new Date(2000), new Date(2000));
    await cache.get(sha(blobs.a!));
    await cache.get(sha(blobs.c!));
    const held = (await readdir(cacheDir)).filter((n) => n !== ".incoming").sort();
    expect(held).toEqual([sha(blobs.a!), sha(blobs.c!)].sort());
    expect(cache.stats.evicted).toBe(1);
  });
});
