/**
 * A job's evidence over HTTP on loopback: the per-attempt listing, byte-identical downloads with
 * ranges, tokens (401 without one), org isolation (404) and signed links (expired: 401).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, QgjobClient } from "../../api/client.js";
import { LinkSigner } from "../../app/evidence/links.js";
import { issueToken } from "../../app/tokens.js";
import { seedFlakyEvidence } from "../evidence.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";

const SECRET = "evidence-links-test-secret";

describe("artifact routes", () => {
  let server: TestServer;
  let acme: QgjobClient;
  let acmeToken: string;
  let globex: QgjobClient;
  const files = tempDir("qgjob-artifacts-");
  let jobId: string;
  let screenshot: Buffer;
  let video: Buffer;
  let log: Buffer;

  beforeAll(async () => {
    server = await startTestServer({ linkSecret: SECRET });
    const now = Date.now();
    const token = async (org: string) =>
      (
        await issueToken(
          server.store,
          { orgId: org, scopes: ["agent", "submit", "read"], name: org },
          now,
        )
      ).token;
    acmeToken = await token("acme");
    acme = new QgjobClient({ baseUrl: server.url, token: acmeToken, retries: 0 });
    globex = new QgjobClient({ baseUrl: server.url, token: await token("globex"), retries: 0 });
    ({ jobId, screenshot, video, log } = await seedFlakyEvidence(server.url, acmeToken));
  });
  afterAll(() => server.close());

  it("lists each attempt's evidence: stored, pending and missing", async () => {
    const list = await acme.listArtifacts(jobId);
    expect(list.job_id).toBe(jobId);
    expect(
      list.attempts.map((a) => [
        a.attempt,
        a.status,
        a.artifacts.map((x) => [x.name, x.kind, x.state, x.missing]),
      ]),
    ).toEqual([
      [
        1,
        "failed",
        [
          ["test-failed-1.png", "screenshot", "stored", null],
          ["video.webm", "video", "stored", null],
          ["output.log", "log", "pending", "not uploaded yet"],
          ["trace.zip", "trace", "missing", "over the 512 MB cap per file"],
        ],
      ],
      [2, "passed", [["output.log", "log", "stored", null]]],
    ]);
    expect(list.attempts[0]!.message).toBe("expected 2, got 1");
    expect(list.attempts[0]!.artifacts[0]!.url).toBe(
      `/api/v1/jobs/${jobId}/attempts/1/artifacts/0`,
    );
    expect(list.attempts[0]!.artifacts[2]!.url).toBeNull();
  });

  it("downloads byte-identical files with their type and disposition", async () => {
    const out = join(files, "shot");
    await acme.downloadArtifact({ jobId, attempt: 1, index: 0 }, out);
    expect(readFileSync(out).equals(screenshot)).toBe(true);
    await acme.downloadArtifact({ jobId, attempt: 2, index: 0 }, out);
    expect(readFileSync(out).equals(log)).toBe(true);

    const res = await fetch(`${server.url}/api/v1/jobs/${jobId}/attempts/1/artifacts/0`, {
      headers: { authorization: `Bearer ${acmeToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-disposition")).toBe(
      `inline; filename="test-failed-1.png"; filename*=UTF-8''test-failed-1.png`,
    );
    expect(res.headers.get("content-length")).toBe(String(screenshot.length));
    await res.arrayBuffer();
  });

  it("answers a range request on a video with 206 and just those bytes", async () => {
    const url = `${server.url}/api/v1/jobs/${jobId}/attempts/1/artifacts/1`;
    const auth = { authorization: `Bearer ${acmeToken}` };
    const res = await fetch(url, { headers: { ...auth, range: "bytes=1000-1999" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-type")).toBe("video/webm");
    expect(res.headers.get("content-range")).toBe(`bytes 1000-1999/${video.length}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(video.subarray(1000, 2000))).toBe(true);
    const tail = await fetch(url, { headers: { ...auth, range: "bytes=-10" } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(video.subarray(-10))).toBe(true);
    const outside = await fetch(url, { headers: { ...auth, range: `bytes=${video.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe(`bytes */${video.length}`);
    expect(((await outside.json()) as any).error.code).toBe("range_not_satisfiable");
  });

  it("needs a token once tokens exist (401), and hides another org's job (404)", async () => {
    const anonymous = await fetch(`${server.url}/api/v1/jobs/${jobId}/attempts/1/artifacts/0`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as any).error.code).toBe("unauthorized");
    const list = await fetch(`${server.url}/api/v1/jobs/${jobId}/artifacts`);
    expect(list.status).toBe(401);

    for (const call of [
      () => globex.listArtifacts(jobId),
      () => globex.downloadArtifact({ jobId, attempt: 1, index: 0 }, join(files, "x")),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(404);
    }
    const missing = await acme
      .downloadArtifact({ jobId, attempt: 1, index: 2 }, join(files, "x"))
      .catch((e: unknown) => e);
    expect((missing as ApiError).status).toBe(404);
  });

  it("opens one job with a signed link until it expires (then 401 link_expired)", async () => {
    const links = new LinkSigner(SECRET);
    const sig = links.sign(jobId, Date.now() + 60_000);
    const anonymous = new QgjobClient({ baseUrl: server.url, retries: 0 });
    const list = await anonymous.listArtifacts(jobId, { sig });
    const url = list.attempts[0]!.artifacts[0]!.url!;
    expect(url).toContain(`?sig=${encodeURIComponent(sig)}`);
    const res = await fetch(server.url + url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(screenshot)).toBe(true);

    const expired = links.sign(jobId, Date.now() - 1000);
    const late = await fetch(
      `${server.url}/api/v1/jobs/${jobId}/attempts/1/artifacts/0?sig=${encodeURIComponent(expired)}`,
    );
    expect(late.status).toBe(401);
    expect(((await late.json()) as any).error.code).toBe("link_expired");
    // Signed by another key, or for another job: not a link to this one.
    const forged = new LinkSigner("another secret of enough length").sign(jobId, Date.now() + 1e6);
    const other = links.sign("job_other", Date.now() + 60_000);
    for (const bad of [forged, other]) {
      const r = await fetch(`${server.url}/api/v1/jobs/${jobId}/artifacts?sig=${bad}`);
      expect(r.status).toBe(401);
    }
  });

  it("hands a token holder links to share (Action summaries): the page and files open without a token until the evidence expires", async () => {
    const shared = await acme.listArtifacts(jobId, { share: true });
    const finished = (await acme.getJob(jobId)).finished_at!;
    expect(shared.expires_at).toBe(new Date(Date.parse(finished) + 30 * 86_400_000).toISOString());
    expect(shared.page).toMatch(new RegExp(`^/jobs/${jobId}\\?sig=`));
    const shot = await fetch(server.url + shared.attempts[0]!.artifacts[0]!.url!);
    expect(shot.status).toBe(200);
    expect(Buffer.from(await shot.arrayBuffer()).equals(screenshot)).toBe(true);

    // The job's page through the link: no session, just that job, read-only.
    const page = await fetch(server.url + shared.page, { redirect: "manual" });
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain("expected 2, got 1");
    expect(body).toContain("test-failed-1.png");
    expect(body).not.toContain("Sign out");
    // Without the link, or with one for another job: the login page; expired: said so.
    const links = new LinkSigner(SECRET);
    const other = links.sign("job_other", Date.now() + 60_000);
    for (const path of [`/jobs/${jobId}`, `/jobs/${jobId}?sig=${other}`]) {
      const res = await fetch(server.url + path, { redirect: "manual" });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/login");
    }
    const expired = links.sign(jobId, Date.now() - 1000);
    const late = await fetch(`${server.url}/jobs/${jobId}?sig=${expired}`, { redirect: "manual" });
    expect(late.status).toBe(401);
    expect(await late.text()).toContain("expired");
    // The link opens that job's page only: the run list still needs a session.
    const runs = await fetch(
      `${server.url}/?sig=${encodeURIComponent(shared.page.split("sig=")[1]!)}`,
      {
        redirect: "manual",
      },
    );
    expect(runs.status).toBe(303);
  });
});
