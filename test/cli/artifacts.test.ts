/**
 * `qgjob artifacts` as a real process against a real server: every attempt's stored files saved
 * byte-identical under <out>/attempt-<n>/, pending and missing ones listed with their reason,
 * one attempt with --attempt, and usage errors (exit 2).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import { runCli } from "../../cli/program.js";
import { CLI } from "../built.js";
import { seedFlakyEvidence, type SeededEvidence } from "../evidence.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";

describe("qgjob artifacts", () => {
  let server: TestServer;
  let token: string;
  let seeded: SeededEvidence;

  beforeAll(async () => {
    server = await startTestServer();
    token = (
      await issueToken(
        server.store,
        { orgId: "acme", scopes: ["agent", "submit", "read"], name: "acme" },
        Date.now(),
      )
    ).token;
    seeded = await seedFlakyEvidence(server.url, token);
  });
  afterAll(() => server.close());

  function qgjob(args: string[], env: Record<string, string> = { QGJOB_TOKEN: token }) {
    const child = spawn(process.execPath, [...CLI, ...args], {
      env: { ...process.env, QGJOB_URL: server.url, QGJOB_TOKEN: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on("close", (code) => resolve({ code, stdout, stderr })),
    );
  }

  it("saves every attempt's stored files byte-identical and lists the rest", async () => {
    const out = tempDir("qgjob-cli-artifacts-");
    const res = await qgjob(["artifacts", "--job-id", seeded.jobId, "--out", out]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(
      readFileSync(join(out, "attempt-1", "test-failed-1.png")).equals(seeded.screenshot),
    ).toBe(true);
    expect(readFileSync(join(out, "attempt-1", "video.webm")).equals(seeded.video)).toBe(true);
    expect(readFileSync(join(out, "attempt-2", "output.log")).equals(seeded.log)).toBe(true);
    // Not uploaded, or not kept: listed with the reason, no file (and no partial download).
    expect(readdirSync(join(out, "attempt-1")).sort()).toEqual(["test-failed-1.png", "video.webm"]);
    expect(res.stdout).toMatch(/attempt 1 +screenshot +test-failed-1\.png +68\.4 KB +-> /);
    expect(res.stdout).toMatch(/attempt 1 +log +output\.log +pending: not uploaded yet/);
    expect(res.stdout).toMatch(/attempt 1 +trace +trace\.zip +missing: over the 512 MB cap/);
  }, 30_000);

  /** The same command in this process (what bin/qgjob calls), for the quick cases. */
  async function inProcess(args: string[], withToken = true) {
    let stdout = "";
    let stderr = "";
    const { write: out } = process.stdout;
    const { write: err } = process.stderr;
    process.stdout.write = ((c: string) => ((stdout += c), true)) as typeof out;
    process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof err;
    try {
      const auth = withToken ? ["--token", token] : [];
      const code = await runCli([...args, "--url", server.url, ...auth]);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
  }

  it("takes one attempt with --attempt, and prints JSON with --json", async () => {
    const out = tempDir("qgjob-cli-artifacts-");
    const res = await inProcess([
      "artifacts",
      "--job-id",
      seeded.jobId,
      "--attempt",
      "2",
      "--out",
      out,
      "--json",
    ]);
    expect(res.code).toBe(0);
    const body = JSON.parse(res.stdout);
    expect(body.files).toEqual([
      {
        attempt: 2,
        name: "output.log",
        kind: "log",
        state: "stored",
        size: seeded.log.length,
        path: join(out, "attempt-2", "output.log"),
        missing: null,
        url: null,
      },
    ]);
    expect(existsSync(join(out, "attempt-1"))).toBe(false);
  });

  it("exits 2 on bad input: no job id, a bad attempt, an unknown job, no token", async () => {
    const noId = await inProcess(["artifacts"]);
    const bad = await inProcess(["artifacts", "--job-id", seeded.jobId, "--attempt", "3"]);
    const unknown = await inProcess(["artifacts", "--job-id", "job_01JD8ZK3V4QH6T2X0M9B5C7R1E"]);
    const anonymous = await inProcess(["artifacts", "--job-id", seeded.jobId], false);
    expect([noId.code, noId.stderr]).toEqual([2, "qgjob: give --job-id <id>\n"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`qgjob: job ${seeded.jobId} has no attempt 3 (attempts: 1, 2)\n`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not found/);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/Authorization|token/);
  });
});
