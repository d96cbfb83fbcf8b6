/**
 * The JUnit report's attachments against a real server and real blobs: a flaky test's evidence,
 * every attempt's, downloaded beside the report byte-identical and named as
 * `[[ATTACHMENT|path]]` lines relative to the workspace; an upload that arrives while the report
 * waits is attached, one that never arrives is named with why.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { downloadAttachments } from "../../action/attachments.js";
import { junitXml } from "../../action/junit.js";
import { memoryLog } from "../../action/log.js";
import { testRoot } from "../../action/tests.js";
import { seedFlakyEvidence, sha256, type SeededEvidence } from "../evidence.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { jenkinsJunitErrors } from "./junit-schema.js";

/** What the seeded agent listed for attempt 1's log but never uploaded. */
const LATE_LOG = Buffer.from("never uploaded");

describe("JUnit attachments", () => {
  let server: TestServer;
  let api: QgjobClient;

  beforeAll(async () => {
    server = await startTestServer();
    api = new QgjobClient({ baseUrl: server.url, retries: 0 });
  });
  afterAll(() => server.close());

  /** The report for `seed`'s run written under `workspace/reports/`, with its evidence. */
  async function reportOf(
    seed: SeededEvidence,
    opts: { waitMs: number; late?: () => Promise<unknown> },
  ) {
    const workspace = tempDir("qgjob-attach-ws-");
    const run = { ...(await api.getRun(seed.runId)), jobs: [await api.getJob(seed.jobId)] };
    const log = memoryLog();
    const attachments = await downloadAttachments(
      api,
      run.jobs,
      join(workspace, "reports/qgjob-evidence"),
      {
        workspace,
        log,
        waitMs: opts.waitMs,
        // The report's pause between listings: the late upload lands during it.
        sleep: async () => void (await opts.late?.()),
      },
    );
    const xml = junitXml(run, testRoot(workspace, "."), { attachments });
    return { workspace, xml, log };
  }

  it("downloads every attempt's files beside the report and names them as attachments", async () => {
    const seed = await seedFlakyEvidence(server.url, undefined, { org: "acme" });
    let uploaded: Promise<unknown> | null = null;
    // The agent's upload of attempt 1's log lands while the report waits for it (once).
    const late = () =>
      (uploaded ??= (async () => {
        const path = join(tempDir("qgjob-late-"), "output.log");
        writeFileSync(path, LATE_LOG);
        return api.uploadBlob(
          { path, sha256: sha256(LATE_LOG), bytes: LATE_LOG.length },
          { org_id: "acme", kind: "artifact" },
        );
      })());
    const { workspace, xml, log } = await reportOf(seed, {
      waitMs: 60_000,
      late,
    });
    expect(log.lines).toEqual([]);
    const dir = `reports/qgjob-evidence/${seed.jobId}`;
    const files: [string, Buffer][] = [
      [`${dir}/attempt-1/test-failed-1.png`, seed.screenshot],
      [`${dir}/attempt-1/video.webm`, seed.video],
      [`${dir}/attempt-1/output.log`, LATE_LOG],
      [`${dir}/attempt-2/output.log`, seed.log],
    ];
    // Each on a line of its own, as Jenkins' junit-attachments and GitLab read them.
    const lines = xml.split("\n");
    for (const [path, bytes] of files) {
      expect(lines).toContain(`[[ATTACHMENT|${path}]]`);
      expect(sha256(readFileSync(join(workspace, path)))).toBe(sha256(bytes));
    }
    expect(xml).toContain(
      "not attached:\n  trace.zip (attempt 1): over the 512 MB cap per file</system-out>",
    );
    expect(await jenkinsJunitErrors(xml)).toEqual([]);
  });

  it("names an upload that has not arrived by the deadline, and attaches the rest", async () => {
    // Blobs are per organisation: the other test's late upload is not this one's.
    const seed = await seedFlakyEvidence(server.url, undefined, { org: "globex" });
    const { xml, log } = await reportOf(seed, { waitMs: 0 });
    expect(log.lines).toEqual([]);
    expect(xml).toContain(
      `[[ATTACHMENT|reports/qgjob-evidence/${seed.jobId}/attempt-1/video.webm]]\n`,
    );
    expect(xml).toContain(
      "not attached:\n  output.log (attempt 1): not uploaded yet\n  trace.zip (attempt 1): over the 512 MB cap per file\n",
    );
  });
});
