/**
 * The blob routes over HTTP on loopback, with the typed client: idempotent uploads that send
 * nothing twice, the size cap (413), hash checks (422), org isolation (404) and byte ranges,
 * on the disk engine and on a real local S3 server.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readdirSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, QgjobClient } from "../../api/client.js";
import { issueToken } from "../../app/tokens.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { startLocalS3, type LocalS3 } from "../s3rver.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const MAX = 64 * 1024;

interface Setup {
  server: TestServer;
  api: (org: string, scopes: string[]) => Promise<{ client: QgjobClient; token: string }>;
}

async function put(server: TestServer, token: string, hash: string, body: Buffer, org = "acme") {
  const res = await fetch(`${server.url}/api/v1/blobs/${hash}?org_id=${org}&kind=build`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

function suite(
  name: string,
  start: () => Promise<{ server: TestServer; cleanup?: () => Promise<void> }>,
  volume: (server: TestServer) => string | null,
) {
  describe(`blob routes: ${name}`, () => {
    const s = {} as Setup & { cleanup?: () => Promise<void> };
    const files = tempDir("qgjob-blob-files-");
    beforeAll(async () => {
      const started = await start();
      s.server = started.server;
      if (started.cleanup) s.cleanup = started.cleanup;
      s.api = async (org, scopes) => {
        const { token } = await issueToken(
          s.server.store,
          { orgId: org, scopes: scopes as never, name: `${org}-${scopes.join("-")}` },
          Date.now(),
        );
        return { client: new QgjobClient({ baseUrl: s.server.url, token, retries: 0 }), token };
      };
    });
    afterAll(async () => {
      await s.cleanup?.();
      await s.server.close();
    });

    function file(bytes: Buffer) {
      const path = join(files, sha(bytes));
      writeFileSync(path, bytes);
      return { path, sha256: sha(bytes), bytes: bytes.length };
    }

    it("reports the free space of the blob store's volume in /metrics (a disk has one)", async () => {
      // /metrics covers every org: a fleet token's.
      const { token } = await issueToken(
        s.server.store,
        { orgId: null, scopes: ["read"], name: "scraper" },
        Date.now(),
      );
      const res = await fetch(`${s.server.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const text = await res.text();
      const gauge = (name: string) =>
        Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
      const dir = volume(s.server);
      if (dir === null) {
        expect(text).not.toContain("qgjob_blob_disk_");
        return;
      }
      const fs = statfsSync(dir);
      expect(gauge("qgjob_blob_disk_size_bytes")).toBe(fs.blocks * fs.bsize);
      const free = gauge("qgjob_blob_disk_free_bytes");
      expect(free).toBeGreaterThan(0);
      expect(free).toBeLessThanOrEqual(fs.blocks * fs.bsize);
    });

    it("uploads once; the same org's re-upload sends nothing; downloads are byte-identical", async () => {
      const { client } = await s.api("acme", ["submit", "read"]);
      const body = randomBytes(40_000);
      const f = file(body);
      expect(await client.uploadBlob(f, { org_id: "acme", kind: "build" })).toEqual({
        sha256: f.sha256,
        size: body.length,
        kind: "build",
        uploaded: true,
      });
      expect((await client.uploadBlob(f, { org_id: "acme", kind: "build" })).uploaded).toBe(false);
      const out = join(files, "download");
      await client.downloadBlob(f.sha256, out);
      expect(readFileSync(out).equals(body)).toBe(true);
      expect(await client.statBlob(f.sha256)).toEqual({
        sha256: f.sha256,
        size: body.length,
        kind: "build",
      });
    });

    it("answers a held hash at once, without reading the body", async () => {
      const { token } = await s.api("acme", ["submit"]);
      const body = randomBytes(1000);
      expect((await put(s.server, token, sha(body), body)).status).toBe(201);
      // A wrong body for a held hash is never read, so it is no mismatch: the answer is the blob.
      const again = await put(s.server, token, sha(body), Buffer.from("not read"));
      expect(again).toEqual({
        status: 200,
        body: { sha256: sha(body), size: 1000, kind: "build" },
      });
    });

    it("refuses a body over QGJOB_BLOB_MAX_BYTES with 413 and stores nothing", async () => {
      const { client, token } = await s.api("acme", ["submit", "read"]);
      const body = randomBytes(MAX + 1);
      const res = await put(s.server, token, sha(body), body);
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe("payload_too_large");
      expect(await client.statBlob(sha(body))).toBeNull();
    });

    it("refuses bytes that do not match their hash with 422 and stores nothing", async () => {
      const { client, token } = await s.api("acme", ["submit", "read"]);
      const claimed = sha(Buffer.from("claimed"));
      const res = await put(s.server, token, claimed, Buffer.from("sent instead"));
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({
        code: "hash_mismatch",
        details: { expected: claimed },
      });
      expect(await client.statBlob(claimed)).toBeNull();
      const err = await client.downloadBlob(claimed, join(files, "x")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(404);
    });

    it("hides one org's blob from another; that org gets it only by sending the bytes", async () => {
      const acme = await s.api("acme", ["submit", "read"]);
      const globex = await s.api("globex", ["submit", "read", "agent"]);
      const body = randomBytes(5000);
      const f = file(body);
      await acme.client.uploadBlob(f, { org_id: "acme", kind: "build" });
      expect(await globex.client.statBlob(f.sha256)).toBeNull();
      const read = await globex.client.downloadBlob(f.sha256, join(files, "y")).catch((e) => e);
      expect((read as ApiError).status).toBe(404);
      // Knowing the hash is not enough: without the bytes the upload is a mismatch.
      expect((await put(s.server, globex.token, f.sha256, Buffer.alloc(0), "globex")).status).toBe(
        422,
      );
      // Naming another org's id is answered as if that org did not exist.
      expect((await put(s.server, globex.token, f.sha256, body, "acme")).status).toBe(404);
      // With the bytes, globex holds it too (and learns nothing of acme: same 201 as a new blob).
      expect((await put(s.server, globex.token, f.sha256, body, "globex")).status).toBe(201);
      expect(await globex.client.statBlob(f.sha256)).toMatchObject({ size: 5000 });
    });

    it("takes an agent token's evidence, but not a build from it (403); a reader's nothing", async () => {
      const agent = await s.api("acme", ["agent"]);
      const reader = await s.api("acme", ["read"]);
      const body = randomBytes(3000);
      const f = file(body);
      await agent.client.uploadBlob(f, { org_id: "acme", kind: "artifact" });
      expect(await agent.client.statBlob(f.sha256)).toMatchObject({ size: 3000 });
      const build = await put(s.server, agent.token, sha(randomBytes(10)), randomBytes(10));
      expect(build.status).toBe(403);
      expect(build.body.error.message).toBe("an agent token may upload evidence, not a build");
      const read = await put(s.server, reader.token, f.sha256, body);
      expect(read.status).toBe(403);
      expect(read.body.error.message).toBe("this token lacks the 'submit' or 'agent' scope");
    });

    it("serves byte ranges (206) and refuses one past the end (416)", async () => {
      const { client, token } = await s.api("acme", ["submit", "read"]);
      const body = randomBytes(10_000);
      const f = file(body);
      await client.uploadBlob(f, { org_id: "acme", kind: "build" });
      const out = join(files, "range");
      await client.downloadBlob(f.sha256, out, { range: { start: 100, end: 199 } });
      expect(readFileSync(out).equals(body.subarray(100, 200))).toBe(true);
      const auth = { authorization: `Bearer ${token}` };
      const tail = await fetch(`${s.server.url}/api/v1/blobs/${f.sha256}`, {
        headers: { ...auth, range: "bytes=-10" },
      });
      expect(tail.status).toBe(206);
      expect(tail.headers.get("content-range")).toBe("bytes 9990-9999/10000");
      expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(9990))).toBe(true);
      const past = await fetch(`${s.server.url}/api/v1/blobs/${f.sha256}`, {
        headers: { ...auth, range: "bytes=20000-" },
      });
      expect(past.status).toBe(416);
      expect(past.headers.get("content-range")).toBe("bytes */10000");
      expect(((await past.json()) as any).error.code).toBe("range_not_satisfiable");
    });

    it("needs the submit scope to upload, and a token to read", async () => {
      const reader = await s.api("acme", ["read"]);
      const body = Buffer.from("scoped");
      expect((await put(s.server, reader.token, sha(body), body)).status).toBe(403);
      const anonymous = await fetch(`${s.server.url}/api/v1/blobs/${sha(body)}`);
      expect(anonymous.status).toBe(401);
      const bad = await fetch(`${s.server.url}/api/v1/blobs/not-a-hash`, {
        headers: { authorization: `Bearer ${reader.token}` },
      });
      expect(bad.status).toBe(400);
    });
  });
}

suite(
  "disk",
  async () => {
    const server = await startTestServer({ blobMaxBytes: MAX });
    return {
      server,
      async cleanup() {
        // The data directory holds the blobs, and nothing of the refused uploads.
        expect(readdirSync(join(server.dir, "blobs", ".incoming"))).toEqual([]);
      },
    };
  },
  (server) => join(server.dir, "blobs"),
);

let s3: LocalS3;
suite(
  "s3 (s3rver)",
  async () => {
    s3 = await startLocalS3();
    Object.assign(process.env, s3.env);
    const server = await startTestServer({ blobMaxBytes: MAX, blobUrl: `s3://${s3.bucket}/qgjob` });
    return {
      server,
      async cleanup() {
        for (const k of Object.keys(s3.env)) delete process.env[k];
        await s3.close();
      },
    };
  },
  () => null,
);
