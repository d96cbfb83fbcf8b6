/**
 * Auth over HTTP (docs/architecture.md, Auth): open mode on loopback until the first token exists, refusing to
 * start on a public address without tokens, scopes, org isolation on every documented route,
 * fleet tokens, and tokens stored only as SHA-256 hashes.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent, RunWithJobs } from "../../api/schemas.js";
import type { Scope } from "../../api/types.js";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  submit,
  tempDir,
  type Client,
  type Reply,
  type UntypedReply,
  type TestServer,
} from "../harness.js";

const ORG_A = "acme";
const ORG_B = "globex";

async function newToken(
  server: TestServer,
  orgId: string | null,
  scopes: Scope[],
  name = `${orgId ?? "fleet"}-${scopes.join("-")}`,
): Promise<string> {
  return (await issueToken(server.store, { orgId, scopes, name }, Date.now())).token;
}

/** Takes the isolation probes' untyped replies too: a probe's route is data (see below). */
function expectError(res: Reply | UntypedReply, status: 401 | 403 | 404, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
}

/** A syntactically valid lease id that names nothing. */
const MISSING_LEASE = "lse_01JD0000000000000000000000";

describe("open mode on loopback", () => {
  let server: TestServer;
  let anonymous: Client;

  beforeAll(async () => {
    server = await startTestServer();
    anonymous = client(server.url);
  });
  afterAll(() => server.close());

  it("answers without Authorization while no token exists", async () => {
    expect((await anonymous.get("/api/v1/runs")).status).toBe(200);
    expect((await submit(anonymous, { org_id: ORG_A, tests: ["open.spec.js"] })).status).toBe(201);
    expect(
      (await anonymous.post("/api/v1/agents", { name: "open", target: "emulator" })).status,
    ).toBe(200);
  });

  it("still refuses a token it does not know, even while open", async () => {
    expectError(await client(server.url, "qgj_bogus").get("/api/v1/runs"), 401, "unauthorized");
  });

  it("closes as soon as a token exists", async () => {
    const token = await newToken(server, ORG_A, ["read"]);

    expectError(await anonymous.get("/api/v1/runs"), 401, "unauthorized");
    expectError(
      await submit(anonymous, { org_id: ORG_A, tests: ["late.spec.js"] }),
      401,
      "unauthorized",
    );
    expectError(await client(server.url, "qgj_bogus").get("/api/v1/runs"), 401, "unauthorized");
    expectError(
      await client(server.url, `qgj_${"A".repeat(43)}`).get("/api/v1/runs"),
      401,
      "unauthorized",
    );
    expectError(
      await anonymous.get("/api/v1/runs", { authorization: `Basic ${token}` }),
      401,
      "unauthorized",
    );

    const reader = client(server.url, token);
    const runs = await reader.get("/api/v1/runs");
    expectStatus(runs, 200);
    // The run submitted while open belongs to acme and is still there for acme's token.
    expect(runs.body.items.map((r) => r.org_id)).toEqual([ORG_A]);
  });

  it("keeps /healthz and the OpenAPI document reachable without a token", async () => {
    expect((await anonymous.get("/healthz")).status).toBe(200);
    expect((await anonymous.get("/api/v1/openapi.json")).status).toBe(200);
  });
});

describe("on a non-loopback address", () => {
  it.each(["0.0.0.0", "::"])(
    "refuses to start on %s with no tokens, leaving the db usable",
    async (host) => {
      const dir = tempDir();
      await expect(startTestServer({ host }, dir)).rejects.toThrow(/token/i);

      // The refused start did not break the database: a loopback server opens it and works.
      const local = await startTestServer({}, dir);
      try {
        const api = client(local.url);
        expect((await api.get("/readyz")).status).toBe(200);
        expect((await submit(api, { org_id: ORG_A, tests: ["a.spec.js"] })).status).toBe(201);
      } finally {
        await local.close();
      }
    },
  );

  it("starts on 0.0.0.0 once a token exists in the database, and never runs open", async () => {
    const dir = tempDir();
    const local = await startTestServer({}, dir);
    const token = await newToken(local, ORG_A, ["read"]);
    await local.stop();

    const server = await startTestServer({ host: "0.0.0.0", port: 0 }, dir);
    try {
      const url = server.url.replace("0.0.0.0", "127.0.0.1");
      // Reached over loopback, but bound to a public address: a token is required.
      expectError(await client(url).get("/api/v1/runs"), 401, "unauthorized");
      expect((await client(url, token).get("/api/v1/runs")).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("scopes", () => {
  let server: TestServer;
  const api: Record<string, Client> = {};

  beforeAll(async () => {
    server = await startTestServer();
    const scopes: Record<string, Scope[]> = {
      read: ["read"],
      submit: ["submit"],
      agent: ["agent"],
      admin: ["admin"],
    };
    for (const [name, s] of Object.entries(scopes)) {
      api[name] = client(server.url, await newToken(server, ORG_A, s));
    }
    api.fleetAdmin = client(server.url, await newToken(server, null, ["admin"]));
  });
  afterAll(() => server.close());

  const runBody = { org_id: ORG_A, app_version_id: "v1", tests: ["scoped.spec.js"] };
  const agentBody = { name: "scoped-agent", target: "emulator" };

  it.each(
    (
      [
        { token: "read", method: "POST", path: "/api/v1/runs", body: runBody, status: 403 },
        { token: "read", method: "POST", path: "/api/v1/agents", body: agentBody, status: 403 },
        { token: "read", method: "GET", path: "/api/v1/runs", body: undefined, status: 200 },
        { token: "submit", method: "POST", path: "/api/v1/agents", body: agentBody, status: 403 },
        { token: "submit", method: "GET", path: "/api/v1/jobs", body: undefined, status: 403 },
        { token: "submit", method: "POST", path: "/api/v1/runs", body: runBody, status: 201 },
        { token: "agent", method: "POST", path: "/api/v1/runs", body: runBody, status: 403 },
        { token: "agent", method: "GET", path: "/api/v1/queue", body: undefined, status: 403 },
        { token: "agent", method: "POST", path: "/api/v1/agents", body: agentBody, status: 200 },
      ] as const
    ).map((c) => [`${c.token} token: ${c.method} ${c.path} -> ${c.status}`, c] as const),
  )("%s", async (_label, { token, method, path, body, status }) => {
    const res = await api[token]!.call(method, path, body);
    if (status === 403) expectError(res, 403, "forbidden");
    else expect(res.status, JSON.stringify(res.body)).toBe(status);
  });

  it("an admin token can do everything in its org", async () => {
    const admin = api.admin!;
    // On its own target, so the agent takes this run and not the one submitted above.
    const run = await submit(admin, {
      org_id: ORG_A,
      app_version_id: "adm",
      target: "device",
      tests: ["a.spec.js", "b.spec.js"],
    });
    expectStatus(run, 201);
    expect((await admin.get(`/api/v1/runs/${run.body.id}`)).status).toBe(200);
    expect((await admin.get("/api/v1/jobs")).status).toBe(200);
    expect((await admin.get("/api/v1/queue")).status).toBe(200);

    const agentId = await registerAgent(admin, "admin-agent", { target: "device" });
    expect((await admin.get(`/api/v1/agents/${agentId}`)).status).toBe(200);
    const lease = await admin.post(`/api/v1/agents/${agentId}/lease`, {});
    expectStatus(lease, 200);
    const first = lease.body.jobs[0]!;
    expect((await finishJob(admin, lease.body.id, first)).status).toBe(200);
    expect(
      (await admin.post(`/api/v1/agents/${agentId}/heartbeat`, { lease_id: lease.body.id })).status,
    ).toBe(200);
    expect((await admin.post(`/api/v1/leases/${lease.body.id}/release`)).status).toBe(200);
    expect((await admin.post(`/api/v1/runs/${run.body.id}/cancel`)).status).toBe(200);
    expect((await admin.post(`/api/v1/jobs/${first.id}/cancel`)).status).toBe(200);
    const after = bodyOf(await admin.get(`/api/v1/runs/${run.body.id}`));
    expect(after.counts).toMatchObject({ total: 2, passed: 1, cancelled: 1 });
  });

  it.each(["submit", "admin"])(
    "%s token of one org submitting for another org: 404, nothing stored",
    async (token) => {
      for (const path of ["/api/v1/runs", "/api/v1/jobs"] as const) {
        const body =
          path === "/api/v1/runs"
            ? { org_id: ORG_B, app_version_id: "v1", tests: ["x.spec.js"] }
            : { org_id: ORG_B, app_version_id: "v1", test_path: "x.spec.js" };
        expectError(await api[token]!.post(path, body), 404, "not_found");
      }
      const runs = bodyOf(await api.fleetAdmin!.get(`/api/v1/runs?org_id=${ORG_B}`));
      expect(runs.items).toEqual([]);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Org isolation on every route of the OpenAPI document.

/** Org A's resources, and org B's own lease, as the probes need them. */
interface World {
  runA: string;
  queuedRunA: string;
  jobRunning: string;
  jobLeased: string;
  agentA: string;
  leaseA: string;
  agentB: string;
  leaseB: string;
  /** A blob only org A holds. */
  blobA: string;
  /** The id of org A's API token. */
  tokenA: string;
  /** A test with history in org A only, and quarantined there. */
  testA: { id: string; path: string };
  /** Every id of org A, to look for in org B's answers. */
  idsOfA: Set<string>;
}

interface Probe {
  what: string;
  /** Values for the `{name}` segments of the documented path. */
  params?: (w: World) => Record<string, string>;
  query?: (w: World) => string;
  body?: (w: World) => unknown;
  /** Defaults to: 404 not_found. */
  check?: (res: UntypedReply, w: World, b: Client<"untyped">) => void | Promise<void>;
}

/** Asserts that a list answer holds nothing of org A. */
const seesNoneOfA = (items: (body: any) => any[]) => (res: UntypedReply, w: World) => {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  for (const item of items(res.body)) {
    expect(item.org_id).not.toBe(ORG_A);
    for (const value of Object.values(item)) {
      if (typeof value === "string") expect(w.idsOfA.has(value), value).toBe(false);
    }
  }
};

const RESULT = { attempt: 1, status: "passed", duration_ms: 5 };
/** One chunk of live log, as an agent posts it. */
const LOG_CHUNK = { attempt: 1, dropped_bytes: 0, chunks: [{ seq: 0, data: "aGVsbG8K" }] };

/**
 * Every operation of the OpenAPI document, with at least one request org B's token makes against
 * org A's data. A route added to the document without an entry here fails the coverage test.
 */
const PROBES: Record<string, Probe[]> = {
  "POST /api/v1/runs": [
    {
      what: "submit a run for org A",
      body: () => ({ org_id: ORG_A, app_version_id: "v1", tests: ["intruder.spec.js"] }),
    },
  ],
  "POST /api/v1/jobs": [
    {
      what: "submit a job for org A",
      body: () => ({ org_id: ORG_A, app_version_id: "v1", test_path: "intruder.spec.js" }),
    },
  ],
  "GET /api/v1/runs": [
    { what: "list runs", check: seesNoneOfA((b) => b.items) },
    {
      what: "list runs of org A",
      query: () => `?org_id=${ORG_A}`,
      check: seesNoneOfA((b) => b.items),
    },
  ],
  "GET /api/v1/runs/{id}": [{ what: "get A's run", params: (w) => ({ id: w.runA }) }],
  "GET /api/v1/runs/{id}/wait": [
    { what: "wait on A's run", params: (w) => ({ id: w.runA }), query: () => "?timeout_s=0" },
  ],
  "POST /api/v1/runs/{id}/cancel": [
    { what: "cancel A's run", params: (w) => ({ id: w.runA }) },
    { what: "cancel A's queued run", params: (w) => ({ id: w.queuedRunA }) },
  ],
  "POST /api/v1/runs/{id}/rerun-failed": [
    { what: "re-run A's failed tests", params: (w) => ({ id: w.runA }), body: () => ({}) },
  ],
  "GET /api/v1/jobs": [
    { what: "list jobs", check: seesNoneOfA((b) => b.items) },
    {
      what: "list jobs of org A",
      query: () => `?org_id=${ORG_A}`,
      check: seesNoneOfA((b) => b.items),
    },
    {
      what: "list jobs of A's run",
      query: (w) => `?run_id=${w.runA}`,
      check: seesNoneOfA((b) => b.items),
    },
  ],
  "GET /api/v1/jobs/{id}": [
    { what: "get A's running job", params: (w) => ({ id: w.jobRunning }) },
    { what: "get A's leased job", params: (w) => ({ id: w.jobLeased }) },
  ],
  "POST /submit-job": [
    {
      what: "submit a job for org A (compatibility route)",
      body: () => ({ org_id: ORG_A, app_version_id: "v1", test_path: "intruder.spec.js" }),
    },
  ],
  "GET /status/{job_id}": [
    {
      what: "status of A's running job (compatibility route)",
      params: (w) => ({ job_id: w.jobRunning }),
    },
  ],
  "GET /api/v1/jobs/{id}/wait": [
    { what: "wait on A's job", params: (w) => ({ id: w.jobRunning }), query: () => "?timeout_s=0" },
  ],
  "POST /api/v1/jobs/{id}/cancel": [
    { what: "cancel A's running job", params: (w) => ({ id: w.jobRunning }) },
  ],
  "POST /api/v1/agents": [
    {
      what: "register under the name of A's agent",
      body: () => ({ name: "shared-name", target: "emulator" }),
      check: (res, w) => {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.id).not.toBe(w.agentA);
        expect(res.body.org_id).toBe(ORG_B);
        expect(res.body.lease_id).toBeNull();
      },
    },
  ],
  "GET /api/v1/agents": [{ what: "list agents", check: seesNoneOfA((b) => b.items) }],
  "GET /api/v1/agents/{id}": [{ what: "get A's agent", params: (w) => ({ id: w.agentA }) }],
  "POST /api/v1/agents/{id}/undrain": [
    { what: "undrain A's agent", params: (w) => ({ id: w.agentA }), body: () => ({}) },
  ],
  "POST /api/v1/agents/{id}/heartbeat": [
    {
      what: "heartbeat A's agent and lease",
      params: (w) => ({ id: w.agentA }),
      body: (w) => ({ lease_id: w.leaseA }),
    },
    {
      what: "heartbeat B's own agent naming A's lease",
      params: (w) => ({ id: w.agentB }),
      body: (w) => ({ lease_id: w.leaseA }),
      // A's lease must be indistinguishable from one that does not exist.
      check: async (res, w, b) => {
        const control = await b.post(`/api/v1/agents/${w.agentB}/heartbeat`, {
          lease_id: MISSING_LEASE,
        });
        expect(res.status).toBe(control.status);
        expect(res.body.error?.code).toBe(control.body.error?.code);
        expect(JSON.stringify(res.body).replaceAll(w.leaseA, "ID")).toBe(
          JSON.stringify(control.body).replaceAll(MISSING_LEASE, "ID"),
        );
      },
    },
  ],
  "POST /api/v1/agents/{id}/lease": [
    { what: "lease through A's agent", params: (w) => ({ id: w.agentA }), body: () => ({}) },
  ],
  "POST /api/v1/leases/{lease_id}/jobs/{job_id}/start": [
    {
      what: "start A's job in A's lease",
      params: (w) => ({ lease_id: w.leaseA, job_id: w.jobLeased }),
      body: () => ({ attempt: 1 }),
    },
    {
      what: "start A's job in B's own lease",
      params: (w) => ({ lease_id: w.leaseB, job_id: w.jobLeased }),
      body: () => ({ attempt: 1 }),
    },
  ],
  "POST /api/v1/leases/{lease_id}/jobs/{job_id}/result": [
    {
      what: "report A's job in A's lease",
      params: (w) => ({ lease_id: w.leaseA, job_id: w.jobRunning }),
      body: () => RESULT,
    },
    {
      what: "report A's job in B's own lease",
      params: (w) => ({ lease_id: w.leaseB, job_id: w.jobRunning }),
      body: () => RESULT,
    },
  ],
  "POST /api/v1/leases/{lease_id}/release": [
    { what: "release A's lease", params: (w) => ({ lease_id: w.leaseA }) },
  ],
  "POST /api/v1/leases/{lease_id}/device": [
    {
      what: "report the device of A's lease",
      params: (w) => ({ lease_id: w.leaseA }),
      body: () => ({ installs: 1, sessions: 1, setup_ms: { install: 1, session: 1 } }),
    },
  ],
  "PUT /api/v1/blobs/{sha256}": [
    {
      what: "upload a blob for org A",
      params: (w) => ({ sha256: w.blobA }),
      query: () => `?org_id=${ORG_A}&kind=build`,
    },
  ],
  "GET /api/v1/blobs/{sha256}": [
    { what: "download A's blob", params: (w) => ({ sha256: w.blobA }) },
  ],
  "GET /api/v1/jobs/{id}/artifacts": [
    { what: "list A's job's evidence", params: (w) => ({ id: w.jobRunning }) },
  ],
  "GET /api/v1/jobs/{id}/attempts/{attempt}/artifacts/{index}": [
    {
      what: "download A's job's evidence",
      params: (w) => ({ id: w.jobRunning, attempt: "1", index: "0" }),
    },
  ],
  "GET /api/v1/jobs/{id}/log/events": [
    { what: "follow A's job's live log", params: (w) => ({ id: w.jobRunning }) },
  ],
  "POST /api/v1/leases/{lease_id}/jobs/{job_id}/log": [
    {
      what: "post to A's job's live log in A's lease",
      params: (w) => ({ lease_id: w.leaseA, job_id: w.jobRunning }),
      body: () => LOG_CHUNK,
    },
    {
      what: "post to A's job's live log in B's own lease",
      params: (w) => ({ lease_id: w.leaseB, job_id: w.jobRunning }),
      body: () => LOG_CHUNK,
    },
  ],
  "GET /api/v1/runs/{id}/events": [{ what: "follow A's run", params: (w) => ({ id: w.runA }) }],
  "GET /api/v1/leases/{lease_id}/events": [
    { what: "follow A's lease", params: (w) => ({ lease_id: w.leaseA }) },
  ],
  "GET /api/v1/tokens": [
    {
      what: "list tokens",
      check: (res) => {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        for (const t of res.body.items) expect(t.org_id).toBe(ORG_B);
      },
    },
  ],
  "POST /api/v1/tokens": [
    {
      what: "create a token for org A",
      body: () => ({ name: "intruder", scopes: ["read"], org_id: ORG_A }),
    },
  ],
  "POST /api/v1/tokens/{id}/revoke": [
    { what: "revoke A's token", params: (w) => ({ id: w.tokenA }) },
  ],
  "GET /api/v1/tests": [
    { what: "list tests", check: seesNoneOfA((b) => b.items) },
    {
      what: "list tests of org A",
      query: () => `?org_id=${ORG_A}`,
      check: seesNoneOfA((b) => b.items),
    },
  ],
  "GET /api/v1/tests/{id}": [{ what: "get A's test", params: (w) => ({ id: w.testA.id }) }],
  "GET /api/v1/quarantines": [{ what: "list quarantines", check: seesNoneOfA((b) => b.items) }],
  "POST /api/v1/quarantines": [
    {
      what: "quarantine a test of org A",
      body: (w) => ({ org_id: ORG_A, test_path: w.testA.path, reason: "intruder" }),
    },
  ],
  "POST /api/v1/quarantines/end": [
    {
      what: "end A's quarantine",
      body: (w) => ({ org_id: ORG_A, test_path: w.testA.path }),
    },
  ],
  "GET /api/v1/queue": [
    {
      what: "queue overview",
      check: (res) => {
        expect(res.status).toBe(200);
        expect(res.body.groups.map((g: any) => g.org_id)).not.toContain(ORG_A);
        const target = (t: string) => res.body.targets.find((x: any) => x.target === t);
        // Only A has browserstack work and a running job; B has one leased emulator job.
        expect(target("browserstack")).toMatchObject({ queued: 0, leased: 0, running: 0 });
        expect(target("emulator")).toMatchObject({
          queued: 0,
          leased: 1,
          running: 0,
          agents_busy: 1,
        });
      },
    },
  ],
};

const PROBE_ROWS = Object.entries(PROBES).flatMap(([operation, probes]) =>
  probes.map((probe) => [`${operation}: ${probe.what}`, { operation, probe }] as const),
);

function requestOf(operation: string, probe: Probe, w: World) {
  const [method, template] = operation.split(" ") as [string, string];
  const params = probe.params?.(w) ?? {};
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${operation}: no value for {${name}}`);
    return value;
  });
  return { method, path: path + (probe.query?.(w) ?? ""), body: probe.body?.(w) };
}

describe("org isolation on every route", () => {
  let server: TestServer;
  let a: Client;
  let b: Client;
  /** B as the probes call: untyped, since a probe's method and path are data. */
  let probing: Client<"untyped">;
  let w: World;
  let before: { runA: RunWithJobs; queuedRunA: RunWithJobs; agentsA: { items: Agent[] } };
  let operations: string[];

  beforeAll(async () => {
    server = await startTestServer();
    const scopes: Scope[] = ["submit", "read", "agent"];
    const tokenA = await issueToken(server.store, { orgId: ORG_A, scopes, name: "a" }, Date.now());
    a = client(server.url, tokenA.token);
    // B may manage its own org's tokens: the token routes are probed as an org admin.
    const tokenB = await newToken(server, ORG_B, [...scopes, "admin"]);
    b = client(server.url, tokenB);
    probing = client<"untyped">(server.url, tokenB);

    const doc = await client(server.url).get("/api/v1/openapi.json");
    expectStatus(doc, 200);
    operations = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );

    // Org A: a run being worked on by its own agent (one job running, the rest leased) and a
    // browserstack run nobody can take yet.
    const runA = bodyOf(
      await submit(a, {
        org_id: ORG_A,
        app_version_id: "v1",
        tests: ["a1.spec.js", "a2.spec.js", "a3.spec.js"],
      }),
    );
    const queuedRunA = bodyOf(
      await submit(a, {
        org_id: ORG_A,
        app_version_id: "v2",
        target: "browserstack",
        tests: ["q.spec.js"],
      }),
    );
    const agentA = await registerAgent(a, "shared-name");
    const leaseA = await a.post(`/api/v1/agents/${agentA}/lease`, {});
    expectStatus(leaseA, 200);
    expect(leaseA.body.jobs.length).toBeGreaterThanOrEqual(2);
    const running = leaseA.body.jobs[0]!;
    const leased = leaseA.body.jobs[1]!;
    const started = await a.post(`/api/v1/leases/${leaseA.body.id}/jobs/${running.id}/start`, {
      attempt: running.attempt,
    });
    expect(started.status).toBe(200);

    const blobBytes = Buffer.from("org A's build");
    const blobA = createHash("sha256").update(blobBytes).digest("hex");
    expect(
      (
        await a.call("PUT", `/api/v1/blobs/${blobA}?org_id=${ORG_A}&kind=build`, blobBytes, {
          "content-type": "application/octet-stream",
        })
      ).status,
    ).toBe(201);

    // Org A's test history: a device job finished by a device agent (the emulator agent above
    // holds its lease), then its test quarantined.
    const historyRun = bodyOf(
      await submit(a, {
        org_id: ORG_A,
        app_version_id: "v3",
        target: "device",
        tests: ["h.spec.js"],
      }),
    );
    const deviceA = await registerAgent(a, "a-device", { target: "device" });
    const historyLease = await a.post(`/api/v1/agents/${deviceA}/lease`, {});
    expectStatus(historyLease, 200);
    expect(historyLease.body.jobs.map((j) => j.test_path)).toEqual(["h.spec.js"]);
    expect((await finishJob(a, historyLease.body.id, historyLease.body.jobs[0]!)).status).toBe(200);
    const testsA = bodyOf(await a.get(`/api/v1/tests?org_id=${ORG_A}`));
    expect(testsA.items).toHaveLength(1);
    const testA = { id: testsA.items[0]!.id, path: "h.spec.js" };
    const quarantined = await a.post("/api/v1/quarantines", {
      org_id: ORG_A,
      test_path: testA.path,
      reason: "flaky on A's devices",
    });
    expectStatus(quarantined, 201);

    // Org B: its own agent holding its own lease on its own job.
    expect(
      (await submit(b, { org_id: ORG_B, app_version_id: "v1", tests: ["b.spec.js"] })).status,
    ).toBe(201);
    const agentB = await registerAgent(b, "b-agent");
    const leaseB = await b.post(`/api/v1/agents/${agentB}/lease`, {});
    expectStatus(leaseB, 200);
    expect(leaseB.body.org_id).toBe(ORG_B);

    w = {
      runA: runA.id,
      queuedRunA: queuedRunA.id,
      jobRunning: running.id,
      jobLeased: leased.id,
      agentA,
      leaseA: leaseA.body.id,
      agentB,
      leaseB: leaseB.body.id,
      blobA,
      tokenA: tokenA.record.id,
      testA,
      idsOfA: new Set([
        tokenA.record.id,
        testA.id,
        historyRun.id,
        historyRun.jobs[0]!.id,
        deviceA,
        historyLease.body.id,
        runA.id,
        queuedRunA.id,
        ...runA.jobs.map((j) => j.id),
        ...queuedRunA.jobs.map((j) => j.id),
        agentA,
        leaseA.body.id,
      ]),
    };
    before = {
      runA: bodyOf(await a.get(`/api/v1/runs/${w.runA}`)),
      queuedRunA: bodyOf(await a.get(`/api/v1/runs/${w.queuedRunA}`)),
      agentsA: bodyOf(await a.get("/api/v1/agents")),
    };
  });
  afterAll(() => server.close());

  it("has a probe for every operation of the OpenAPI document, and none for others", () => {
    expect(operations.length).toBeGreaterThan(0);
    expect(Object.keys(PROBES).sort()).toEqual([...operations].sort());
  });

  it.each(PROBE_ROWS)("%s", async (_label, { operation, probe }) => {
    const req = requestOf(operation, probe, w);
    const res = await probing.call(req.method, req.path, req.body);
    if (probe.check) await probe.check(res, w, probing);
    else expectError(res, 404, "not_found");
    // Whatever the answer, it carries nothing of org A beyond what B itself sent.
    const sent = JSON.stringify(req);
    for (const id of w.idsOfA) {
      if (!sent.includes(id)) expect(JSON.stringify(res.body)).not.toContain(id);
    }
  });

  it("left org A's data as it was", async () => {
    const statuses = (run: RunWithJobs) =>
      Object.fromEntries(run.jobs.map((j) => [j.id, [j.status, j.attempts, j.lease_id]]));
    const runA = await a.get(`/api/v1/runs/${w.runA}`);
    expectStatus(runA, 200);
    expect(statuses(runA.body)).toEqual(statuses(before.runA));
    expect(runA.body.counts).toEqual(before.runA.counts);
    const queuedRunA = bodyOf(await a.get(`/api/v1/runs/${w.queuedRunA}`));
    expect(statuses(queuedRunA)).toEqual(statuses(before.queuedRunA));
    expect((await a.get("/api/v1/agents")).body).toEqual(before.agentsA);
    const quarantines = bodyOf(await a.get("/api/v1/quarantines"));
    expect(quarantines.items).toMatchObject([
      { org_id: ORG_A, test_path: w.testA.path, reason: "flaky on A's devices" },
    ]);

    // A's lease is still live and still A's: its agent can keep it and finish the running job.
    const beat = await a.post(`/api/v1/agents/${w.agentA}/heartbeat`, { lease_id: w.leaseA });
    expectStatus(beat, 200);
    expect(beat.body.lease_expires_at).not.toBeNull();
    expect(beat.body.cancel_job_ids).toEqual([]);
    const result = await a.post(`/api/v1/leases/${w.leaseA}/jobs/${w.jobRunning}/result`, RESULT);
    expectStatus(result, 200);
    expect(result.body.job.status).toBe("passed");
  });
});

describe("fleet tokens", () => {
  let server: TestServer;
  afterAll(() => server.close());

  it("register an agent that takes jobs of every org", async () => {
    server = await startTestServer();
    const orgs = { [ORG_A]: "", [ORG_B]: "" };
    for (const org of Object.keys(orgs)) {
      const api = client(server.url, await newToken(server, org, ["submit", "read"]));
      expect(
        (await submit(api, { org_id: org, app_version_id: "v1", tests: [`${org}.spec.js`] }))
          .status,
      ).toBe(201);
    }
    const fleet = client(server.url, await newToken(server, null, ["agent"]));
    const registered = await fleet.post("/api/v1/agents", {
      name: "shared-device",
      target: "emulator",
    });
    expectStatus(registered, 200);
    expect(registered.body.org_id).toBeNull();
    const agentId = registered.body.id;

    const served: string[] = [];
    for (let i = 0; i < 2; i++) {
      const lease = await fleet.post(`/api/v1/agents/${agentId}/lease`, {});
      expectStatus(lease, 200);
      served.push(lease.body.org_id);
      // Finishing every job of a lease ends it, so the agent may lease again.
      for (const job of lease.body.jobs) {
        expect((await finishJob(fleet, lease.body.id, job)).status).toBe(200);
      }
    }
    expect(served.sort()).toEqual([ORG_A, ORG_B].sort());
    expect((await fleet.post(`/api/v1/agents/${agentId}/lease`, {})).status).toBe(204);
  });
});

describe("token storage", () => {
  it("keeps only a SHA-256 hash of each token, never the token itself", async () => {
    const server = await startTestServer();
    try {
      const tokens = [
        await newToken(server, ORG_A, ["submit", "read"]),
        await newToken(server, null, ["agent"]),
      ];
      // The tokens work, so the server can match them without storing them.
      for (const token of tokens) {
        expect((await client(server.url, token).get("/api/v1/queue")).status).not.toBe(401);
      }

      const db = new Database(server.db, { readonly: true });
      try {
        const rows = db.prepare("select * from tokens").all() as Record<string, unknown>[];
        expect(rows).toHaveLength(tokens.length);
        const cells = rows.flatMap((row) => Object.values(row).map(String));
        const hashes = rows.map((row) => row.hash);
        for (const token of tokens) {
          const secret = token.replace(/^qgj_/, "");
          for (const cell of cells) expect(cell).not.toContain(secret);
          expect(hashes).toContain(createHash("sha256").update(token).digest("hex"));
        }
      } finally {
        db.close();
      }

      // Nor anywhere else in the database files (the WAL included).
      for (const file of [server.db, `${server.db}-wal`, `${server.db}-shm`].filter(existsSync)) {
        const bytes = readFileSync(file);
        for (const token of tokens) expect(bytes.includes(token.replace(/^qgj_/, ""))).toBe(false);
      }
    } finally {
      await server.close();
    }
  });
});
