/**
 * `qgjob submit` sends the test project: packed from --project-dir (or a test project in the
 * current directory), uploaded once, recorded on the run; --no-bundle and --build files.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { runCli } from "./cli-process.js";

const SEED = ["submit", "--org-id=qualgent", "--app-version-id=xyz123", "--json"];

describe("qgjob submit with a bundle", { timeout: 120_000 }, () => {
  let server: TestServer;
  let client: QgjobClient;
  const dir = tempDir("qgjob-cli-bundle-");
  const project = join(dir, "project");
  const cli = (args: string[], cwd?: string) => runCli(args, { QGJOB_URL: server.url }, cwd);

  beforeAll(async () => {
    server = await startTestServer();
    client = new QgjobClient({ baseUrl: server.url, retries: 0 });
    mkdirSync(join(project, "tests"), { recursive: true });
    writeFileSync(join(project, "package.json"), "{}");
    writeFileSync(join(project, "appwright.config.js"), "module.exports = {}");
    writeFileSync(join(project, "tests/onboarding.spec.js"), "// a test");
    writeFileSync(join(project, ".qgjobignore"), "local-notes.txt\n");
    writeFileSync(join(project, "local-notes.txt"), "not sent");
  });
  afterAll(() => server.close());

  it("packs the project, records it on the run, and uploads nothing the second time", async () => {
    const args = [...SEED, "--test=tests/onboarding.spec.js", "--project-dir", project];
    const first = await cli(args);
    expect(first.code).toBe(0);
    const run = JSON.parse(first.stdout);
    expect(run.bundle).toMatchObject({ files: 4, source_sha: null });
    expect(await client.statBlob(run.bundle.sha256)).toMatchObject({ kind: "bundle" });
    // From inside the project (it holds an appwright.config.js) without --project-dir: same hash.
    const again = await cli(
      SEED.filter((a) => a !== "--json").concat("--test=tests/onboarding.spec.js"),
      project,
    );
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`bundle ${run.bundle.sha256.slice(0, 12)} 4 files`);
    expect(again.stderr).toContain("already on the server");
  });

  it("refuses a test the project does not hold, naming it, and queues nothing", async () => {
    const out = await cli([...SEED, "--test=tests/missing.spec.js", "--project-dir", project]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("test_not_in_bundle");
    expect(out.stderr).toContain("tests/missing.spec.js");
  });

  it("--no-bundle sends none and says so; --build uploads the file and names it", async () => {
    const apk = join(dir, "app-debug.apk");
    writeFileSync(apk, "stub build");
    const out = await cli(
      ["submit", "--org-id=qualgent", "--app-version-id=xyz123"].concat([
        "--test=tests/anything.spec.js",
        "--no-bundle",
        "--build",
        apk,
      ]),
      project,
    );
    expect(out.code).toBe(0);
    expect(out.stderr).toContain("no bundle: agents run the tests of their own checkout");
    const [runId] = /run_[0-9A-Z]{26}/.exec(out.stdout) ?? [];
    const run = await client.getRun(runId!);
    expect(run.bundle).toBeNull();
    const sha = createHash("sha256").update("stub build").digest("hex");
    expect(run.build).toEqual({ sha256: sha, size: 10, name: "app-debug.apk" });
    const missing = await cli([...SEED, "--test=a.spec.js", "--no-bundle", "--build", "nope.apk"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--build nope.apk: no such file");
  });
});
