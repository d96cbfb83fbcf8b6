import { createHash, randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/harness.js";
import { startLocalS3, type LocalS3 } from "../../test/s3rver.js";
import { QgjobError } from "../errors.js";
import { DiskBlobStore } from "./disk.js";
import { openBlobStore } from "./open.js";
import { parseS3Url } from "./s3.js";
import type { BlobStore } from "./store.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** A body that arrives in small pieces, as from a socket. */
const stream = (b: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 64 * 1024) yield b.subarray(i, i + 64 * 1024);
    })(),
  );

async function bytes(s: Readable | null): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s!) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QgjobError);
  return (err as QgjobError).code;
}

function contract(name: string, open: () => Promise<{ store: BlobStore; close(): Promise<void> }>) {
  describe(name, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    beforeAll(async () => ({ store, close } = await open()));
    afterAll(() => close());

    it("stores a body under its hash and gives it back, whole or by range", async () => {
      // Larger than one multipart part (5 MiB) so the S3 engine uploads in parts.
      const body = randomBytes(6 * 1024 * 1024 + 123);
      const h = sha(body);
      expect(await store.stat(h)).toBeNull();
      expect(await store.put(h, stream(body), 10 * 1024 * 1024)).toEqual({
        size: body.length,
        created: true,
      });
      expect(await store.stat(h)).toEqual({ size: body.length });
      expect((await bytes(await store.get(h))).equals(body)).toBe(true);
      const part = await bytes(await store.get(h, { start: 10, end: 19 }));
      expect(part.equals(body.subarray(10, 20))).toBe(true);
    });

    it("stores a body of a declared length, larger than one streamed part", async () => {
      const body = randomBytes(16 * 1024 * 1024 + 123);
      const h = sha(body);
      expect(await store.put(h, stream(body), 20 * 1024 * 1024, body.length)).toEqual({
        size: body.length,
        created: true,
      });
      expect((await bytes(await store.get(h))).equals(body)).toBe(true);
      const empty = Buffer.alloc(0);
      expect(await store.put(sha(empty), stream(empty), 100, 0)).toEqual({
        size: 0,
        created: true,
      });
      expect(await store.stat(sha(empty))).toEqual({ size: 0 });
    });

    it("stores nothing when a declared body is wrong, shorter or over the cap", async () => {
      const body = randomBytes(200_000);
      const h = sha(body);
      const wrong = Buffer.from(body);
      wrong[150_000] = wrong[150_000]! ^ 1;
      expect(await refusal(store.put(h, stream(wrong), 1_000_000, wrong.length))).toBe(
        "hash_mismatch",
      );
      await expect(
        store.put(h, stream(body.subarray(0, 100_000)), 1_000_000, body.length),
      ).rejects.toThrow();
      expect(await refusal(store.put(h, stream(body), 100_000, body.length))).toBe(
        "payload_too_large",
      );
      expect(await store.stat(h)).toBeNull();
    });

    it("verifies a second upload of the same bytes and keeps one copy", async () => {
      const body = Buffer.from("same bytes twice");
      const h = sha(body);
      await store.put(h, stream(body), 1000);
      expect(await store.put(h, stream(body), 1000)).toEqual({ size: body.length, created: false });
      expect(await text((await store.get(h))!)).toBe("same bytes twice");
    });

    it("stores nothing when the bytes do not match the hash", async () => {
      const h = sha("what was promised");
      expect(await refusal(store.put(h, stream(Buffer.from("something else")), 1000))).toBe(
        "hash_mismatch",
      );
      expect(await store.stat(h)).toBeNull();
      expect(await store.get(h)).toBeNull();
    });

    it("stores nothing when the body is over the cap", async () => {
      const body = randomBytes(6 * 1024 * 1024);
      const h = sha(body);
      expect(await refusal(store.put(h, stream(body), 1024 * 1024))).toBe("payload_too_large");
      expect(await store.stat(h)).toBeNull();
    });

    it("stores nothing when the client goes away mid-upload", async () => {
      const body = randomBytes(200_000);
      const h = sha(body);
      const broken = new Readable({ read() {} });
      broken.push(body.subarray(0, 100_000));
      setImmediate(() => broken.destroy(new Error("socket hang up")));
      await expect(store.put(h, broken, 1_000_000)).rejects.toThrow();
      expect(await store.stat(h)).toBeNull();
    });

    it("deletes", async () => {
      const h = sha("to delete");
      await store.put(h, stream(Buffer.from("to delete")), 100);
      await store.delete(h);
      expect(await store.stat(h)).toBeNull();
      await store.delete(h);
    });
  });
}

contract("disk blob store", async () => {
  const dir = tempDir("qgjob-blobs-");
  return {
    store: new DiskBlobStore(dir),
    async close() {
      // Nothing of a refused or broken upload is left behind, not even under a temporary name.
      expect(readdirSync(`${dir}/.incoming`)).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let s3: LocalS3 | undefined;
contract("S3 blob store (s3rver)", async () => {
  s3 = await startLocalS3();
  const store = await openBlobStore(
    { blobUrl: `s3://${s3.bucket}/blobs/`, blobDir: "unused" },
    s3.env,
  );
  return { store, close: () => s3!.close() };
});

describe("parseS3Url", () => {
  it("reads a bucket and a prefix", () => {
    expect(parseS3Url("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Url("s3://my-bucket/a/b/")).toEqual({ bucket: "my-bucket", prefix: "a/b/" });
    expect(() => parseS3Url("https://my-bucket/a")).toThrow(/s3:\/\/bucket/);
  });
});
