/**
 * A result with more attachments than the server keeps: the result is recorded (the test is not
 * run again) with the first 50 attachments and the rest counted as dropped. A real agent whose
 * test leaves 10,000 files keeps 40 (its cap), names the rest in one missing entry, and uploads
 * what it kept.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bodyOf, client, startTestServer, submit, tempDir, type TestServer } from "../harness.js";
import { killAll, spawnQgjob } from "../processes.js";
import { holdLease, until } from "./api-agent.js";

describe("a result with too many attachments", () => {
  let server: TestServer;
  afterAll(async () => {
    killAll();
    await server?.close();
  });

  it("keeps the result and 50 attachments, and counts the rest as dropped", async () => {
    server = await startTestServer();
    const api = client(server.url);
    const held = await holdLease(api, "screenshots", { start: true });
    const artifacts = Array.from({ length: 120 }, (_, i) => ({
      name: `step-${i}.png`,
      url: `https://evidence.example/step-${i}.png`,
      content_type: "image/png",
    }));
    const res = await api.post(`/api/v1/leases/${held.leaseId}/jobs/${held.job.id}/result`, {
      attempt: held.job.attempt,
      status: "passed",
      duration_ms: 1200,
      artifacts,
    });
    const job = bodyOf(await api.get(`/api/v1/jobs/${held.job.id}`));
    console.log(
      `attachments: a result with 120 answered ${res.status}; job ${job.status} after ` +
        `${job.attempts} attempt(s), ${job.result?.artifacts?.length ?? 0} kept, ` +
        `${job.result?.artifacts_dropped ?? 0} counted as dropped`,
    );
    expect(res.status).toBe(200);
    expect(job).toMatchObject({ status: "passed", attempts: 1 });
    expect(job.result?.artifacts).toEqual(artifacts.slice(0, 50));
    expect(job.result?.artifacts_dropped).toBe(70);
  });

  it("a real agent whose test leaves 10,000 tiny files: 40 kept (the log first), the rest reported, the result whole", async () => {
    server ??= await startTestServer();
    const project = tempDir("qgjob-many-files-");
    mkdirSync(join(project, "tests"));
    writeFileSync(
      join(project, "tests/many.sh"),
      'cd "$QGJOB_ARTIFACTS_DIR" && i=0; while [ $i -lt 10000 ]; do echo $i > "f$i.txt"; i=$((i+1)); done\n' +
        "echo 'expected 3 items, got 10000'\nexit 1\n",
    );
    const api = client(server.url);
    const run = bodyOf(
      await submit(api, {
        org_id: "acme",
        app_version_id: "v1",
        tests: ["tests/many.sh"],
        target: "device",
      }),
    );
    const jobId = run.jobs[0]!.id;
    spawnQgjob([
      ...["agent", "--url", server.url, "--name", "many-files", "--target", "device"],
      ...["--lease-wait", "1s", "--runner", "command", "--command", "sh {test}"],
      ...["--project-dir", project],
    ]);
    await until(
      "the result",
      async () => {
        const job = await api.get(`/api/v1/jobs/${jobId}`);
        return job.status === 200 && job.body.status === "failed";
      },
      60_000,
    );
    const attempt = bodyOf(await api.get(`/api/v1/jobs/${jobId}/artifacts`)).attempts[0]!;
    const kept = attempt.artifacts.filter((a) => a.sha256);
    const summary = attempt.artifacts.at(-1)!;
    console.log(
      `10,000 files from one attempt: ${kept.length} kept, then "${summary.name}: ${summary.missing?.slice(0, 80)}…"`,
    );
    expect(attempt.message).toContain("expected 3 items, got 10000");
    expect(kept).toHaveLength(40);
    expect(kept[0]?.name).toBe("output.log");
    expect(summary).toMatchObject({ name: "9961 more files", state: "missing" });
    expect(summary.missing).toMatch(/^over the cap of 40 files per attempt: /);
    await until(
      "the kept files uploaded",
      async () =>
        bodyOf(await api.get(`/api/v1/jobs/${jobId}/artifacts`))
          .attempts[0]!.artifacts.filter((a) => a.sha256)
          .every((a) => a.state === "stored"),
      60_000,
    );
  });
});
