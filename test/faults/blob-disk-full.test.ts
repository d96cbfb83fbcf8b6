/**
 * The server's blob disk fills while an agent uploads a failed test's evidence (a 1 MB tmpfs
 * mounted by the test, which runs as root in CI): the result is recorded at once, whole; the
 * upload is answered 503 `storage_unavailable` (not a 500) and stays in the agent's spool; once
 * room is made, the agent's retry stores it and the artifact downloads byte-identical.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { bodyOf, client, expectStatus, startTestServer, submit, tempDir } from "../harness.js";
import { killAll, spawnQgjob } from "../processes.js";
import { until } from "./api-agent.js";

const dirs: string[] = [];
afterAll(() => {
  killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

it("keeps the result when the blob disk is full, and uploads the evidence once there is room", async () => {
  const dir = tempDir("qgjob-faults-blobs-full-");
  dirs.push(dir);
  const mount = join(dir, "blobs");
  mkdirSync(mount);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount]);
  try {
    const server = await startTestServer({ blobDir: mount }, join(dir, "data"));
    const api = client(server.url);
    // The disk is full before the upload starts: even the log cannot be written.
    const ballast = join(mount, "ballast");
    try {
      writeFileSync(ballast, Buffer.alloc(1024 * 1024));
    } catch {
      // ENOSPC: as full as it gets.
    }
    const project = join(dir, "project");
    mkdirSync(join(project, "tests"), { recursive: true });
    // 200 KB of evidence the test leaves, then the assertion that failed.
    writeFileSync(
      join(project, "tests/fail.sh"),
      'head -c 200000 /dev/zero | tr "\\0" "x" > "$QGJOB_ARTIFACTS_DIR/dump.txt"\n' +
        "echo 'expected 1 to be 2'\nexit 1\n",
    );
    const run = await submit(api, {
      org_id: "acme",
      app_version_id: "v1",
      tests: ["tests/fail.sh"],
      target: "device",
    });
    expectStatus(run, 201);
    spawnQgjob([
      ...["agent", "--url", server.url, "--name", "full-disk", "--target", "device"],
      ...["--lease-wait", "1s", "--runner", "command", "--command", "sh {test}"],
      ...["--project-dir", project],
    ]);
    const jobId = run.body.jobs[0]!.id;
    await until("the result", async () => {
      const job = await api.get(`/api/v1/jobs/${jobId}`);
      return job.status === 200 && job.body.status === "failed";
    });
    const listed = bodyOf(await api.get(`/api/v1/jobs/${jobId}/artifacts`)).attempts[0]!;
    const dump = listed.artifacts.find((a) => a.name === "dump.txt")!;
    expect(listed.message).toContain("expected 1 to be 2");
    expect(dump).toMatchObject({ state: "pending", size: 200_000 });

    // The refusal the agent gets: 503 with a code, never a 500.
    const body = Buffer.alloc(2000, 1);
    const sha = createHash("sha256").update(body).digest("hex");
    const refused = await api.call("PUT", `/api/v1/blobs/${sha}?org_id=acme&kind=artifact`, body, {
      "content-type": "application/octet-stream",
    });
    expectStatus(refused, 503);
    expect(refused.body.error.code).toBe("storage_unavailable");

    rmSync(ballast, { force: true });
    await until(
      "the upload, retried",
      async () => {
        const now = bodyOf(await api.get(`/api/v1/jobs/${jobId}/artifacts`));
        return now.attempts[0]!.artifacts.every((a) => a.state === "stored");
      },
      60_000,
    );
    const res = await fetch(
      `${server.url}/api/v1/jobs/${jobId}/attempts/1/artifacts/${listed.artifacts.indexOf(dump)}`,
    );
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.alloc(200_000, "x"))).toBe(true);
    console.log(
      `full blob disk: result kept at once (${listed.status}), upload answered ` +
        `${refused.status} storage_unavailable, stored after room was made`,
    );
    killAll();
    await server.stop();
  } finally {
    execFileSync("umount", ["-l", mount]);
  }
});
