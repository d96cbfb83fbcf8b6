/** The Action's uploads (action/run-inputs.ts) against a real server with a small blob limit. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import type { SubmitRunRequest } from "../../api/schemas.js";
import { issueToken } from "../../app/tokens.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { memoryLog } from "../../action/log.js";
import { runFiles, uploadRunFiles } from "../../action/run-inputs.js";
import { testRoot } from "../../action/tests.js";

let server: TestServer;
let client: QgjobClient;
let workspace: string;

beforeAll(async () => {
  server = await startTestServer({ blobMaxBytes: 4096 });
  const { token } = await issueToken(
    server.store,
    { orgId: "acme", scopes: ["submit", "read"], name: "action" },
    Date.now(),
  );
  client = new QgjobClient({ baseUrl: server.url, token, retries: 0 });
  workspace = tempDir("qgjob-run-inputs-");
  mkdirSync(join(workspace, "e2e/tests"), { recursive: true });
  writeFileSync(join(workspace, "e2e/tests/a.spec.ts"), "// a\n");
  // Random bytes: they do not compress under the 4 KB the server takes.
  writeFileSync(
    join(workspace, "big.bin"),
    Buffer.from(crypto.getRandomValues(new Uint8Array(8192))),
  );
});

afterAll(() => server?.close());

const request = (): SubmitRunRequest => ({ org_id: "acme", app_version_id: "v1", tests: ["x"] });
const ctx = { sha: "a".repeat(40), mergeSha: undefined };

describe("the run's bundle and build", () => {
  it("checks that working-directory is there to pack and app-build is a file", () => {
    const root = testRoot(workspace, "e2e");
    expect(runFiles({ bundle: true, appBuild: undefined }, root, workspace)).toEqual({
      bundleDir: join(workspace, "e2e"),
      buildFile: undefined,
    });
    expect(() =>
      runFiles({ bundle: true, appBuild: "out/app.apk" }, testRoot(workspace, "gone"), workspace),
    ).toThrow(
      /^working-directory: gone is not a folder in the workspace.*; app-build: out\/app\.apk is not a file \(build it in an earlier step\)$/,
    );
    // bundle: false packs nothing, so the folder need not be there.
    expect(
      runFiles({ bundle: false, appBuild: "big.bin" }, testRoot(workspace, "gone"), workspace),
    ).toEqual({ bundleDir: undefined, buildFile: join(workspace, "big.bin") });
  });

  it("a bundle or build over the server's limit: an input error saying which and what to do", async () => {
    const log = memoryLog();
    await expect(
      uploadRunFiles(client, { bundleDir: workspace, buildFile: undefined }, request(), ctx, log),
    ).rejects.toThrow(
      "the test bundle of working-directory: too large for the server (a blob may be at most 4096 bytes); set working-directory to the AppWright project, or leave files out with a .qgjobignore",
    );
    await expect(
      uploadRunFiles(
        client,
        { bundleDir: undefined, buildFile: join(workspace, "big.bin") },
        request(),
        ctx,
        log,
      ),
    ).rejects.toThrow(
      "app-build big.bin: too large for the server (a blob may be at most 4096 bytes); the server's QGJOB_BLOB_MAX_BYTES sets the limit",
    );
    // What fits goes, and is named in the request.
    const req = request();
    await uploadRunFiles(
      client,
      { bundleDir: join(workspace, "e2e"), buildFile: undefined },
      req,
      ctx,
      log,
    );
    expect(req.bundle).toEqual({
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      source_sha: ctx.sha,
    });
  });
});
