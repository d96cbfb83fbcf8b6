/**
 * Security, round 2: tokens that can be listed, revoked and expire; long polls that re-check
 * who is asking; open mode that answers only loopback host names and only non-simple posts;
 * leases bound to the agent that registered; metrics for the fleet; reported durations clamped.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_KEY_HEADER, type ErrorBody } from "../../api/schemas.js";
import type { Scope } from "../../api/types.js";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  registerAgent,
  startTestServer,
  submit,
  type Client,
  type Reply,
  type TestServer,
} from "../harness.js";

async function newToken(
  server: TestServer,
  orgId: string | null,
  scopes: Scope[],
  expiresAt?: number,
) {
  return (await issueToken(server.store, { orgId, scopes, name: "t", expiresAt }, Date.now()))
    .token;
}

/** Checks a refusal's status and code, and answers its error for further checks. */
function expectError(res: Reply, status: 400 | 401 | 403 | 404, code: string): ErrorBody["error"] {
  expectStatus(res, status);
  expect(res.body.error.code).toBe(code);
  return res.body.error;
}

/** A request with headers fetch will not let us choose (Host above all). */
function raw(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "GET",
        path: opts.path,
        headers: opts.headers,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

describe("token lifecycle", () => {
  let server: TestServer;
  let admin: Client;

  beforeAll(async () => {
    server = await startTestServer();
    admin = client(server.url, await newToken(server, "acme", ["admin"]));
  });
  afterAll(() => server.close());

  it("creates, lists (never the secret) and revokes over the API; a revoked token is refused at once", async () => {
    const created = await admin.post("/api/v1/tokens", {
      name: "ci",
      scopes: ["read"],
      expires_in_days: 90,
    });
    expectStatus(created, 201);
    expect(created.body.token).toMatch(/^qgj_/);
    expect(created.body.org_id).toBe("acme");
    expect(Date.parse(created.body.expires_at!) - Date.now()).toBeGreaterThan(89 * 86_400_000);
    const reader = client(server.url, created.body.token);
    expect((await reader.get("/api/v1/runs")).status).toBe(200);

    const listed = await admin.get("/api/v1/tokens");
    expectStatus(listed, 200);
    const mine = listed.body.items.find((t) => t.id === created.body.id);
    expect(mine).toMatchObject({ name: "ci", scopes: ["read"], revoked_at: null });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);

    const revoked = await admin.post(`/api/v1/tokens/${created.body.id}/revoke`, {});
    expectStatus(revoked, 200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const refused = expectError(await reader.get("/api/v1/runs"), 401, "unauthorized");
    expect(refused.message).toMatch(/revoked/);
  });

  it("keeps an org admin to its own org: no fleet tokens, no other org's tokens", async () => {
    expectError(
      await admin.post("/api/v1/tokens", { name: "x", scopes: ["read"], fleet: true }),
      403,
      "forbidden",
    );
    expectError(
      await admin.post("/api/v1/tokens", { name: "x", scopes: ["read"], org_id: "globex" }),
      404,
      "not_found",
    );
    const other = await issueToken(
      server.store,
      { orgId: "globex", scopes: ["read"], name: "g" },
      Date.now(),
    );
    expectError(await admin.post(`/api/v1/tokens/${other.record.id}/revoke`, {}), 404, "not_found");
    expect((await client(server.url, other.token).get("/api/v1/runs")).status).toBe(200);
    const reader = client(server.url, await newToken(server, "acme", ["read", "submit"]));
    expectError(await reader.get("/api/v1/tokens"), 403, "forbidden");
  });

  it("refuses an expired token with a message that says so", async () => {
    const expired = client(server.url, await newToken(server, "acme", ["read"], Date.now() - 1));
    const refused = expectError(await expired.get("/api/v1/runs"), 401, "unauthorized");
    expect(refused.message).toMatch(/expired/);
  });

  it("ends a waiting long poll when its token is revoked, and the dashboard cookie with it", async () => {
    const { token, record } = await issueToken(
      server.store,
      { orgId: "acme", scopes: ["read", "submit"], name: "w" },
      Date.now(),
    );
    const waiter = client(server.url, token);
    const run = await submit(waiter, { org_id: "acme", tests: ["wait.spec.ts"] });
    expectStatus(run, 201);
    const waiting = waiter.get(`/api/v1/runs/${run.body.id}/wait?timeout_s=30`);
    await new Promise((r) => setTimeout(r, 300));
    await admin.post(`/api/v1/tokens/${record.id}/revoke`, {});
    const started = Date.now();
    const answer = await waiting;
    expectError(answer, 401, "unauthorized");
    expect(Date.now() - started).toBeLessThan(15_000);
    const page = await fetch(`${server.url}/runs/${run.body.id}`, {
      headers: { cookie: `qgjob_session=${encodeURIComponent(token)}` },
      redirect: "manual",
    });
    expect(page.status).not.toBe(200);
  });
});

describe("open mode", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("answers only requests addressed to a loopback name (no DNS rebinding)", async () => {
    for (const host of ["127.0.0.1", "localhost:8000", "[::1]:1", "qgjob.localhost"]) {
      expect(
        (await raw(server.url, { path: "/api/v1/runs", headers: { host } })).status,
        host,
      ).toBe(200);
    }
    for (const host of ["attacker.example", "attacker.example:8000", "127.0.0.1.nip.io"]) {
      const api = await raw(server.url, { path: "/api/v1/runs", headers: { host } });
      expect(api.status, host).toBe(421);
      expect(JSON.parse(api.body).error.code).toBe("misdirected_request");
      const page = await raw(server.url, { path: "/", headers: { host } });
      expect(page.status, host).toBe(421);
      const cancel = await raw(server.url, {
        method: "POST",
        path: "/api/v1/runs/run_01JD0000000000000000000000/cancel",
        headers: { host, "content-type": "application/json" },
        body: "{}",
      });
      expect(cancel.status, host).toBe(421);
    }
  });

  it("refuses a state change a web page could send cross-site (no body, or a form or text body)", async () => {
    const api = client(server.url);
    const run = bodyOf(await submit(api, { org_id: "acme", tests: ["open.spec.ts"] }));
    const path = `/api/v1/runs/${run.id}/cancel`;
    const simple: Record<string, string>[] = [
      {},
      { "content-type": "text/plain" },
      { "content-type": "application/x-www-form-urlencoded" },
    ];
    for (const headers of simple) {
      const res = await raw(server.url, {
        method: "POST",
        path,
        headers: { host: "127.0.0.1", ...headers },
        body: "",
      });
      expect(res.status, JSON.stringify(headers)).toBe(415);
    }
    expect(bodyOf(await api.get(`/api/v1/runs/${run.id}`)).status).toBe("queued");
    expect((await api.post(path, {})).status).toBe(200);
  });

  it("a lease poll started while open gets 401, not another org's job, once tokens exist", async () => {
    const open = client(server.url);
    const agent = await registerAgent(open, "open-agent");
    const polling = open.post(`/api/v1/agents/${agent}/lease`, { wait_s: 20 });
    await new Promise((r) => setTimeout(r, 300));
    const submitter = client(server.url, await newToken(server, "globex", ["submit"]));
    expect(
      (
        await submit(submitter, {
          org_id: "globex",
          app_version_id: "secret-v",
          tests: ["secret.spec.ts"],
        })
      ).status,
    ).toBe(201);
    const answer = await polling;
    expectError(answer, 401, "unauthorized");
    expect(JSON.stringify(answer.body)).not.toContain("secret");
  });
});

describe("leases bound to their agent", () => {
  let server: TestServer;
  let fleet: Client;
  beforeAll(async () => {
    server = await startTestServer();
    fleet = client(server.url, await newToken(server, null, ["agent", "submit", "read"]));
  });
  afterAll(() => server.close());

  it("gives each registration a key; another agent (same fleet token) cannot touch its lease", async () => {
    const reg = await fleet.post("/api/v1/agents", { name: "pixel-a", target: "emulator" });
    expectStatus(reg, 200);
    expect(reg.body.key).toMatch(/^qga_/);
    await registerAgent(fleet, "pixel-b");
    const other = await fleet.post("/api/v1/agents", { name: "pixel-c", target: "emulator" });
    expectStatus(other, 200);
    const asOther = { [AGENT_KEY_HEADER]: other.body.key };
    await submit(fleet, { org_id: "acme", tests: ["bound.spec.ts"] });
    const lease = await fleet.post(`/api/v1/agents/${reg.body.id}/lease`, {});
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!.id;
    const l = lease.body.id;
    expectError(
      await fleet.post(`/api/v1/leases/${l}/jobs/${job}/start`, { attempt: 1 }, asOther),
      404,
      "not_found",
    );
    expectError(
      await fleet.post(
        `/api/v1/leases/${l}/jobs/${job}/start`,
        { attempt: 1 },
        { [AGENT_KEY_HEADER]: "" },
      ),
      404,
      "not_found",
    );
    expectError(await fleet.post(`/api/v1/leases/${l}/release`, {}, asOther), 404, "not_found");
    expectError(
      await fleet.post(`/api/v1/agents/${reg.body.id}/heartbeat`, { lease_id: l }, asOther),
      404,
      "not_found",
    );
    expectError(
      await fleet.post(`/api/v1/agents/${reg.body.id}/lease`, {}, asOther),
      404,
      "not_found",
    );
    const result = { attempt: 1, status: "passed", duration_ms: 10 };
    expectError(
      await fleet.post(`/api/v1/leases/${l}/jobs/${job}/result`, result, asOther),
      404,
      "not_found",
    );
    // The agent itself, with its own key (the harness sends it), goes on as before.
    expect((await fleet.post(`/api/v1/leases/${l}/jobs/${job}/start`, { attempt: 1 })).status).toBe(
      200,
    );
    expect((await fleet.post(`/api/v1/leases/${l}/jobs/${job}/result`, result)).status).toBe(200);
  });

  it("a new registration under the same name retires the old key", async () => {
    const first = await fleet.post("/api/v1/agents", { name: "restarted", target: "emulator" });
    const second = await fleet.post("/api/v1/agents", { name: "restarted", target: "emulator" });
    expectStatus(first, 200);
    expectStatus(second, 200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.key).not.toBe(first.body.key);
    const beat = (key: string) =>
      fleet.post(`/api/v1/agents/${first.body.id}/heartbeat`, {}, { [AGENT_KEY_HEADER]: key });
    expectError(await beat(first.body.key), 404, "not_found");
    expect((await beat(second.body.key)).status).toBe(200);
  });

  it("clamps a reported duration to what the server saw before it reaches the averages", async () => {
    await submit(fleet, { org_id: "clamp", app_version_id: "c1", tests: ["quick.spec.ts"] });
    const agent = await registerAgent(fleet, "clamper");
    const lease = await fleet.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!.id;
    await fleet.post(`/api/v1/leases/${lease.body.id}/jobs/${job}/start`, { attempt: 1 });
    const week = 7 * 86_400_000;
    expect(
      (
        await fleet.post(`/api/v1/leases/${lease.body.id}/jobs/${job}/result`, {
          attempt: 1,
          status: "passed",
          duration_ms: week,
        })
      ).status,
    ).toBe(200);
    await submit(fleet, { org_id: "clamp", app_version_id: "c1", tests: ["quick.spec.ts"] });
    const overview = bodyOf(await fleet.get("/api/v1/queue"));
    const group = overview.groups.find((g) => g.org_id === "clamp");
    expect(group?.expected_work_s).toBeLessThan(60);
  });
});

describe("metrics, proxies and paths", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await newToken(server, "acme", ["read"]);
  });
  afterAll(() => server.close());

  it("serves /metrics to a fleet token only (unless QGJOB_METRICS_PUBLIC)", async () => {
    expectError(await client(server.url).get("/metrics"), 401, "unauthorized");
    expectError(
      await client(server.url, await newToken(server, "acme", ["read"])).get("/metrics"),
      403,
      "forbidden",
    );
    const ok = await client(server.url, await newToken(server, null, ["read"])).get("/metrics");
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain("qgjob_");
    const open = await startTestServer({ metricsPublic: true });
    try {
      await newToken(open, "acme", ["read"]);
      expect((await client(open.url).get("/metrics")).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it("does not believe X-Forwarded-Host from any client on a dashboard form", async () => {
    const token = await newToken(server, "acme", ["read"]);
    const login = (extra: Record<string, string>) =>
      raw(server.url, {
        method: "POST",
        path: "/login",
        headers: {
          host: "127.0.0.1",
          "content-type": "application/x-www-form-urlencoded",
          ...extra,
        },
        body: `token=${encodeURIComponent(token)}`,
      });
    expect(
      (await login({ origin: "http://evil.example", "x-forwarded-host": "evil.example" })).status,
    ).toBe(403);
    expect([200, 303]).toContain((await login({ origin: "http://127.0.0.1" })).status);
  });

  it("refuses test paths that would read as options", async () => {
    const api = client(server.url, await newToken(server, "acme", ["submit"]));
    const res = await submit(api, { org_id: "acme", tests: ["-rf.spec.ts"] });
    expectError(res, 400, "invalid_request");
    expect(JSON.stringify(res.body)).toMatch(/must not start with '-'/);
  });
});
