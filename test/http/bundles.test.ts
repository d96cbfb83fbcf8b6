/**
 * Test bundles through the server: a bundle is read when it arrives (an unsafe or corrupt one is
 * refused and nothing is stored), a submission names it (and a build), the run records both, a
 * path the bundle lacks is refused at submission, and a lease carries each job's bundle.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packBundle, removePacked, type PackedBundle } from "../../api/bundle.js";
import { ApiError, QgjobClient } from "../../api/client.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { gzTar } from "../tarballs.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("test bundles over HTTP", () => {
  let server: TestServer;
  let client: QgjobClient;
  let bundle: PackedBundle;
  const files = tempDir("qgjob-bundles-http-");

  beforeAll(async () => {
    server = await startTestServer();
    client = new QgjobClient({ baseUrl: server.url, retries: 0 });
    const project = join(files, "project");
    for (const [path, text] of Object.entries({
      "package.json": "{}",
      "tests/a.spec.js": "a",
      "tests/b/c.spec.js": "c",
    })) {
      await mkdir(dirname(join(project, path)), { recursive: true });
      await writeFile(join(project, path), text);
    }
    bundle = await packBundle(project);
  });
  afterAll(async () => {
    await removePacked(bundle);
    await server.close();
  });

  const upload = (b: PackedBundle) =>
    client.uploadBlob(
      { path: b.file, sha256: b.sha256, bytes: b.size },
      {
        org_id: "acme",
        kind: "bundle",
      },
    );

  async function putRaw(body: Buffer, kind = "bundle") {
    const res = await fetch(`${server.url}/api/v1/blobs/${sha(body)}?org_id=acme&kind=${kind}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  }

  it("records the run's bundle and build, and hands them to the agent with each job", async () => {
    expect((await upload(bundle)).uploaded).toBe(true);
    // A re-run uploads nothing: the org holds the hash.
    expect((await upload(bundle)).uploaded).toBe(false);
    const apk = join(files, "app.apk");
    await writeFile(apk, "not really an apk");
    const apkSha = sha(Buffer.from("not really an apk"));
    await client.uploadBlob(
      { path: apk, sha256: apkSha, bytes: 17 },
      { org_id: "acme", kind: "build" },
    );
    const run = await client.submitRun({
      org_id: "acme",
      app_version_id: "v1",
      tests: ["tests/a.spec.js", "tests/b"],
      sha: "abc123",
      bundle: { sha256: bundle.sha256 },
      build: { sha256: apkSha, name: "app.apk" },
    });
    const expected = {
      bundle: { sha256: bundle.sha256, size: bundle.size, files: 3, source_sha: "abc123" },
      build: { sha256: apkSha, size: 17, name: "app.apk" },
    };
    expect(run).toMatchObject(expected);
    expect(await client.getRun(run.id)).toMatchObject(expected);
    const plain = await client.submitRun({
      org_id: "acme",
      app_version_id: "v1",
      tests: ["tests/elsewhere.spec.js"],
    });
    expect(plain).toMatchObject({ bundle: null, build: null });

    const agent = await client.registerAgent({ name: "a1", target: "emulator" });
    const lease = await client.lease(agent.id, 0);
    expect(
      lease?.jobs.map((j) => [j.test_path, j.bundle?.sha256 ?? null, j.build?.name ?? null]),
    ).toEqual([
      ["tests/a.spec.js", bundle.sha256, "app.apk"],
      ["tests/b", bundle.sha256, "app.apk"],
      ["tests/elsewhere.spec.js", null, null],
    ]);
  });

  it("refuses paths the bundle does not hold, listing them (422 test_not_in_bundle)", async () => {
    await upload(bundle);
    const err = await client
      .submitRun({
        org_id: "acme",
        app_version_id: "v2",
        tests: ["tests/a.spec.js", "tests/new.spec.js", "tests/b/gone.spec.js"],
        bundle: { sha256: bundle.sha256 },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect((err as ApiError).code).toBe("test_not_in_bundle");
    expect((err as ApiError).details).toEqual({
      missing: ["tests/new.spec.js", "tests/b/gone.spec.js"],
    });
    expect((await client.listRuns({ app_version_id: "v2" })).items).toEqual([]);
  });

  it("refuses a bundle or build the org does not hold, or one of another kind (422)", async () => {
    const submit = (over: object) =>
      client
        .submitRun({ org_id: "acme", app_version_id: "v3", tests: ["tests/a.spec.js"], ...over })
        .catch((e: unknown) => e as ApiError);
    const unknown = "0".repeat(64);
    expect(await submit({ bundle: { sha256: unknown } })).toMatchObject({
      status: 422,
      code: "unknown_blob",
    });
    expect(await submit({ build: { sha256: unknown, name: "a.apk" } })).toMatchObject({
      status: 422,
      code: "unknown_blob",
    });
    const notBundle = Buffer.from("a build, not a bundle");
    expect((await putRaw(notBundle, "build")).status).toBe(201);
    expect(await submit({ bundle: { sha256: sha(notBundle) } })).toMatchObject({
      status: 422,
      code: "invalid_bundle",
    });
    expect(await submit({ build: { sha256: bundle.sha256, name: "../x.apk" } })).toMatchObject({
      status: 400,
    });
  });

  const unsafe: [string, () => Promise<Buffer>][] = [
    ["a '../' path", () => gzTar([{ name: "../../evil.js", body: "x" }])],
    ["an absolute path", () => gzTar([{ name: "/etc/cron.d/evil", body: "x" }])],
    [
      "a symlink pointing outside",
      () => gzTar([{ name: "l", type: "symlink", linkname: "../.." }]),
    ],
    ["a device file", () => gzTar([{ name: "d", type: "block-device" }])],
    ["a corrupt tarball", async () => Buffer.from("\x1f\x8b\x08 corrupt gzip")],
  ];
  for (const [what, make] of unsafe) {
    it(`refuses ${what} as a bundle with 422 invalid_bundle, storing nothing`, async () => {
      const body = await make();
      const res = await putRaw(body);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("invalid_bundle");
      expect(await client.statBlob(sha(body))).toBeNull();
      expect(await readdir(join(server.dir, "blobs", ".incoming"))).toEqual([]);
      const shard = join(server.dir, "blobs", sha(body).slice(0, 2));
      expect(await readdir(shard).catch(() => [])).not.toContain(sha(body));
    });
  }
});
