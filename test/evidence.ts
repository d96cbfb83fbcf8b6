/**
 * A job with evidence, made the way an agent makes it over HTTP: a flaky test whose failing first
 * attempt left a screenshot, a video, a log whose upload never arrived and a trace over the cap,
 * and whose passing second attempt left its log. The bytes are returned for comparison.
 */
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { QgjobClient } from "../api/client.js";
import { bodyOf, client, expectStatus, tempDir } from "./harness.js";

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export interface SeededEvidence {
  jobId: string;
  runId: string;
  screenshot: Buffer;
  video: Buffer;
  log: Buffer;
}

/** `trace`: real trace bytes to store (otherwise the trace is missing, over the cap). */
export async function seedFlakyEvidence(
  url: string,
  token: string | undefined,
  opts: { org?: string; screenshot?: Buffer; trace?: Buffer } = {},
): Promise<SeededEvidence> {
  const org = opts.org ?? "acme";
  const files = tempDir("qgjob-evidence-");
  const uploader = new QgjobClient({ baseUrl: url, token, retries: 0 });
  const screenshot = opts.screenshot ?? randomBytes(70_000);
  const video = randomBytes(300_000);
  const log = Buffer.from("line 1\n\x1b[31mError: expected 2, got 1\x1b[39m\n");
  for (const bytes of [screenshot, video, log, ...(opts.trace ? [opts.trace] : [])]) {
    const path = join(files, sha256(bytes));
    writeFileSync(path, bytes);
    await uploader.uploadBlob(
      { path, sha256: sha256(bytes), bytes: bytes.length },
      { org_id: org, kind: "artifact" },
    );
  }
  const api = client(url, token);
  const run = await api.post("/api/v1/runs", {
    org_id: org,
    app_version_id: "v1",
    tests: ["tests/login.spec.ts"],
    retries: 1,
  });
  expectStatus(run, 201);
  const agent = bodyOf(
    await api.post("/api/v1/agents", { name: "pixel", target: "emulator", installed: ["v1"] }),
  );
  const leased = await api.post(`/api/v1/agents/${agent.id}/lease`, { wait_s: 0 });
  expectStatus(leased, 200);
  const lease = leased.body;
  const jobId = lease.jobs[0]!.id;
  const post = async (attempt: number, body: Record<string, unknown>) => {
    await api.post(`/api/v1/leases/${lease.id}/jobs/${jobId}/start`, { attempt });
    const res = await api.post(`/api/v1/leases/${lease.id}/jobs/${jobId}/result`, {
      attempt,
      duration_ms: 10,
      ...body,
    });
    expectStatus(res, 200);
  };
  const art = (name: string, kind: string, content_type: string, bytes: Buffer) => ({
    name,
    kind,
    content_type,
    sha256: sha256(bytes),
    size: bytes.length,
  });
  await post(1, {
    status: "failed",
    message: "expected 2, got 1",
    artifacts: [
      art("test-failed-1.png", "screenshot", "image/png", screenshot),
      art("video.webm", "video", "video/webm", video),
      art("output.log", "log", "text/plain", Buffer.from("never uploaded")),
      opts.trace
        ? art("trace.zip", "trace", "application/zip", opts.trace)
        : { name: "trace.zip", kind: "trace", missing: "over the 512 MB cap per file" },
    ],
  });
  await post(2, { status: "passed", artifacts: [art("output.log", "log", "text/plain", log)] });
  return { jobId, runId: run.body.id, screenshot, video, log };
}
