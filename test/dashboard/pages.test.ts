/**
 * The dashboard over plain HTTP against a real server: the queue's "next lease" is what an agent
 * then really gets, filters, refused cross-site forms, and sign-in edge cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  registerAgent,
  startTestServer,
  submit,
  type TestServer,
} from "../harness.js";

const text = (html: string) => html.replace(/<[^>]+>/g, "").replace(/\s+/g, " ");

async function page(server: TestServer, path: string, init: RequestInit = {}) {
  const res = await fetch(server.url + path, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe("open mode", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("shows the lease the scheduler then really hands the next idle agent, claiming nothing", async () => {
    const api = client(server.url);
    await submit(api, { org_id: "acme", app_version_id: "v1", tests: ["a.spec.ts", "b.spec.ts"] });
    await submit(api, {
      org_id: "globex",
      app_version_id: "v2",
      priority: 8,
      tests: ["c.spec.ts", "d.spec.ts", "e.spec.ts"],
    });
    const agentId = await registerAgent(api, "pixel-1", { installed: ["v1"] });

    const queue = text((await page(server, "/queue")).body);
    expect(queue).toContain(
      "emulator: Idle agent pixel-1 gets 3 jobs of org globex, app version v2 (about 3m 00s of work, installs the build first), because it has the highest priority.",
    );
    expect(queue).toContain("device: A new agent (none is idle, nothing installed) gets nothing");
    // Looking twice changes nothing: the preview claimed no job.
    expect(text((await page(server, "/queue")).body)).toContain("gets 3 jobs of org globex");

    const lease = await api.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 0 });
    expectStatus(lease, 200);
    expect(lease.body).toMatchObject({ org_id: "globex", app_version_id: "v2", install: true });
    expect(lease.body.jobs).toHaveLength(3);
    expect(text((await page(server, "/queue")).body)).toContain(
      "emulator: A new agent (none is idle, nothing installed) gets 2 jobs of org acme, app version v1",
    );
  });

  it("filters runs by app version, on the page and in the API", async () => {
    const api = client(server.url);
    const v3 = bodyOf(await submit(api, { app_version_id: "v3", tests: ["x.spec.ts"] })).id;
    const v4 = bodyOf(await submit(api, { app_version_id: "v4", tests: ["x.spec.ts"] })).id;
    const body = (await page(server, "/?app_version_id=v3&status=&org_id=")).body;
    expect(body).toContain(v3);
    expect(body).not.toContain(v4);
    const listed = bodyOf(await api.get("/api/v1/runs?app_version_id=v4"));
    expect(listed.items.map((r) => r.id)).toEqual([v4]);
  });

  it("answers a bad filter or run id with a page that says so", async () => {
    const bad = await page(server, "/?status=sideways");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toMatch(/^text\/html/);
    expect(text(bad.body)).toContain("Bad filter status:");
    const missing = await page(server, "/runs/not-a-run-id");
    expect(missing.status).toBe(404);
    expect(text(missing.body)).toContain("There is no such run.");
  });

  it("shows a flaky job attempt by attempt: the failing try's message and evidence next to the pass", async () => {
    const api = client(server.url);
    const run = await submit(api, { app_version_id: "v9", tests: ["flaky.spec.ts"], retries: 1 });
    const agentId = await registerAgent(api, "pixel-9", { installed: ["v9"] });
    const leased = await api.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 0 });
    expectStatus(leased, 200);
    const lease = leased.body;
    const job = lease.jobs[0]!;
    const post = async (attempt: number, body: Record<string, unknown>) => {
      await api.post(`/api/v1/leases/${lease.id}/jobs/${job.id}/start`, { attempt });
      return api.post(`/api/v1/leases/${lease.id}/jobs/${job.id}/result`, {
        attempt,
        duration_ms: 10,
        ...body,
      });
    };
    await post(1, {
      status: "failed",
      message: "logs in: expected <b>2</b>\n- expected: 2\n+ received: 1",
      artifacts: [
        { name: "screenshot.png", kind: "screenshot", sha256: "c".repeat(64), size: 2048 },
        { name: "video.webm", kind: "video", missing: "over the 512 MB cap per file" },
        // A provider's video (older agents, BrowserStack): linked only when it is a web URL.
        { name: "bs.mp4", kind: "video", url: "https://bs.example/v.mp4" },
        { name: "evil.mp4", kind: "video", url: "javascript:alert(1)" },
      ],
    });
    await post(2, {
      status: "passed",
      artifacts: [{ name: "output.log", kind: "log", sha256: "d".repeat(64), size: 12 }],
    });
    expect(run.status).toBe(201);
    const res = await page(server, `/jobs/${job.id}`);
    expect(res.status).toBe(200);
    const body = text(res.body);
    expect(body).toContain("Attempt 1: ✗ failed");
    expect(body).toContain("logs in: expected &lt;b&gt;2&lt;/b&gt; - expected: 2 + received: 1");
    expect(res.body).not.toContain("<b>2</b>"); // escaped, not markup
    expect(res.body).toContain("- expected: 2\n+ received: 1"); // the diff keeps its lines
    expect(body).toContain("screenshot screenshot.png 2.0 KB");
    expect(body).toContain("video video.webm missing: over the 512 MB cap per file");
    expect(res.body).toContain('<a href="https://bs.example/v.mp4">bs.mp4</a>');
    expect(res.body).not.toContain("javascript:");
    expect(body).toContain("Attempt 2: ✓ passed");
    expect(body).toContain("log output.log 12 B");
    expect(body.indexOf("Attempt 1")).toBeLessThan(body.indexOf("Attempt 2"));
    expect((await page(server, "/jobs/job_nope")).status).toBe(404);
  });

  it("refuses a cancel posted from another site or with no origin at all", async () => {
    const api = client(server.url);
    const run = bodyOf(await submit(api, { app_version_id: "csrf", tests: ["x.spec.ts"] })).id;
    const refused: Record<string, string>[] = [{ origin: "http://evil.example" }, {}];
    for (const headers of refused) {
      const res = await page(server, `/runs/${run}/cancel`, { method: "POST", headers });
      expect(res.status).toBe(403);
    }
    expect(bodyOf(await api.get(`/api/v1/runs/${run}`)).status).toBe("queued");
    const ok = await page(server, `/runs/${run}/cancel`, {
      method: "POST",
      headers: { origin: server.url },
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`/runs/${run}`);
    expect(bodyOf(await api.get(`/api/v1/runs/${run}`)).status).toBe("cancelled");
  });

  it("keeps the pages out of the OpenAPI document", async () => {
    const doc = await client(server.url).get("/api/v1/openapi.json");
    const paths = Object.keys(bodyOf(doc).paths);
    // Outside /api/v1 only the seed's compatibility routes are documented.
    expect(paths.filter((p) => !p.startsWith("/api/v1/")).sort()).toEqual([
      "/status/{job_id}",
      "/submit-job",
    ]);
  });
});

describe("with tokens", () => {
  let server: TestServer;
  let agentToken: string;
  let readToken: string;
  const form = (token: string, origin: string) => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ token }).toString(),
  });

  beforeAll(async () => {
    server = await startTestServer();
    const issue = (scopes: ("read" | "agent")[]) =>
      issueToken(server.store, { orgId: "acme", scopes, name: scopes.join() }, Date.now());
    agentToken = (await issue(["agent"])).token;
    readToken = (await issue(["read"])).token;
  });
  afterAll(() => server.close());

  it("sends a visitor without a session to the sign-in page", async () => {
    for (const path of ["/", "/queue", "/agents", "/runs/run_01JD8ZK3V4QH6T2X0M9B5C7R1E"]) {
      const res = await page(server, path);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/login");
    }
  });

  it("refuses a token without the read scope, and a sign-in posted from another site", async () => {
    const agent = await page(server, "/login", form(agentToken, server.url));
    expect(agent.status).toBe(401);
    expect(agent.headers.get("set-cookie")).toBeNull();
    expect(agent.body).not.toContain(agentToken);
    const crossSite = await page(server, "/login", form(readToken, "http://evil.example"));
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get("set-cookie")).toBeNull();
  });

  it("signs in with a read token, and drops a cookie whose token no longer works", async () => {
    const res = await page(server, "/login", form(` ${readToken} `, server.url));
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^qgjob_session=qgj_[\w-]+; Path=\/; HttpOnly; SameSite=Strict/);
    const session = cookie.split(";")[0]!;
    const runs = await page(server, "/", { headers: { cookie: session } });
    expect(runs.status).toBe(200);
    expect(text(runs.body)).toContain("org acme");
    expect(runs.body).not.toContain(readToken);

    const stale = await page(server, "/", { headers: { cookie: "qgjob_session=qgj_gone" } });
    expect(stale.status).toBe(303);
    expect(stale.headers.get("set-cookie")).toMatch(/^qgjob_session=; .*Max-Age=0/);
  });
});
