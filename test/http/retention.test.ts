/**
 * Retention on a real server (QGJOB_RETENTION_DAYS shrunk to 3 s, a sweep every 0.3 s): a blob
 * no run uses any more is removed, bytes and all, while one that runs keep using stays; /metrics
 * counts what was removed and what is held; a finished run's page says until when its evidence
 * is kept.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { seedFlakyEvidence } from "../evidence.js";
import {
  bodyOf,
  client,
  expectStatus,
  startTestServer,
  tempDir,
  type TestServer,
} from "../harness.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const RETENTION_S = 3;

describe("retention", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      retentionDays: RETENTION_S / 86_400,
      retentionSweepS: 0.3,
    });
  });
  afterAll(() => server.close());

  it("removes a blob no run uses any more, keeps one runs go on using, and counts both", async () => {
    const api = new QgjobClient({ baseUrl: server.url, retries: 0 });
    const files = tempDir("qgjob-retention-");
    const upload = async (bytes: Buffer, kind: "artifact" | "build") => {
      const path = join(files, sha(bytes));
      writeFileSync(path, bytes);
      await api.uploadBlob(
        { path, sha256: sha(bytes), bytes: bytes.length },
        { org_id: "acme", kind },
      );
      return sha(bytes);
    };
    const oldBytes = randomBytes(40_000);
    const old = await upload(oldBytes, "artifact");
    const used = await upload(randomBytes(25_000), "build");
    const onDisk = (hash: string) => existsSync(join(server.dir, "blobs", hash.slice(0, 2), hash));
    expect(onDisk(old)).toBe(true);

    // Runs keep naming the build, past the retention of both.
    const http = client(server.url);
    const deadline = Date.now() + (RETENTION_S + 2) * 1000;
    let submitted = 0;
    while (Date.now() < deadline) {
      const res = await http.post("/api/v1/runs", {
        org_id: "acme",
        app_version_id: `v${submitted++}`,
        tests: ["tests/a.spec.ts"],
        build: { sha256: used, name: "app.apk" },
      });
      expect(res.status).toBe(201);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await api.statBlob(old)).toBeNull();
    expect(onDisk(old)).toBe(false);
    expect(await api.statBlob(used)).toMatchObject({ size: 25_000 });
    expect(onDisk(used)).toBe(true);

    const metrics = bodyOf(await http.get("/metrics"));
    console.log(
      `retention (${RETENTION_S} s): ${submitted} runs kept the build; ` +
        metrics
          .split("\n")
          .filter((l) => /^qgjob_(blobs?_)/.test(l))
          .join(", "),
    );
    expect(metrics).toMatch(/^qgjob_blobs_removed_total [1-9]/m);
    expect(metrics).toMatch(/^qgjob_blob_bytes 25000$/m);
    expect(metrics).toMatch(/^qgjob_blobs_stored 1$/m);

    // Removed is not refused: the same bytes are taken again.
    await upload(oldBytes, "artifact");
    expect(onDisk(old)).toBe(true);
  });

  it("keeps a build while re-runs of its run go on using it", async () => {
    const api = new QgjobClient({ baseUrl: server.url, retries: 0 });
    const bytes = randomBytes(30_000);
    const path = join(tempDir("qgjob-retention-"), sha(bytes));
    writeFileSync(path, bytes);
    await api.uploadBlob(
      { path, sha256: sha(bytes), bytes: bytes.length },
      { org_id: "acme", kind: "build" },
    );
    const http = client(server.url);
    const run = await http.post("/api/v1/runs", {
      org_id: "acme",
      app_version_id: "rerun-1",
      tests: ["tests/a.spec.ts"],
      build: { sha256: sha(bytes), name: "app.apk" },
    });
    expectStatus(run, 201);
    // The run is stopped and re-run, again and again, past the retention of its build.
    const deadline = Date.now() + (RETENTION_S + 2) * 1000;
    while (Date.now() < deadline) {
      expect((await http.post(`/api/v1/runs/${run.body.id}/cancel`, {})).status).toBe(200);
      const rerun = await http.post(`/api/v1/runs/${run.body.id}/rerun-failed`, {});
      expect(rerun.status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await api.statBlob(sha(bytes))).toMatchObject({ size: 30_000 });
  });

  it("says on a finished run's page until when its evidence is kept", async () => {
    // A server of its own: the runs above are still queued.
    const own = await startTestServer({ retentionDays: 7 });
    const { runId } = await seedFlakyEvidence(own.url, undefined);
    const run = bodyOf(await client(own.url).get(`/api/v1/runs/${runId}`));
    const until = new Date(Date.parse(run.finished_at!) + 7 * 86_400_000).toISOString();
    const page = await (await fetch(`${own.url}/runs/${runId}`)).text();
    await own.close();
    expect(page).toContain("Evidence kept until");
    expect(page).toContain(`<time datetime="${until}">`);
  });
});
