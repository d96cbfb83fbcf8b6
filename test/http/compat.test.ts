/**
 * The seed design's routes, POST /submit-job and GET /status/{job_id}: aliases of the /api/v1 job
 * routes with the same auth, errors and idempotency, listed in the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  registerAgent,
  startTestServer,
  type Client,
  type TestServer,
} from "../harness.js";

const SEED_BODY = {
  org_id: "qualgent",
  app_version_id: "xyz123",
  test_path: "tests/onboarding.spec.js",
};

describe("compatibility routes in open mode", () => {
  let server: TestServer;
  let api: Client;
  beforeAll(async () => {
    server = await startTestServer();
    api = client(server.url);
  });
  afterAll(() => server.close());

  it("submits the seed's body and answers the job id, a job /api/v1 and agents see", async () => {
    const res = await api.post("/submit-job", { ...SEED_BODY, priority: 7, target: "device" });
    expectStatus(res, 201);
    expect(res.body.job_id).toMatch(/^job_/);
    expect(res.body).toMatchObject({
      id: res.body.job_id,
      status: "queued",
      priority: 7,
      target: "device",
      test_path: "tests/onboarding.spec.js",
    });
    const v1 = await api.get(`/api/v1/jobs/${res.body.job_id}`);
    expect(v1.body).toMatchObject({ id: res.body.job_id, run_id: res.body.run_id });

    const agent = await registerAgent(api, "pixel", { target: "device" });
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
    expectStatus(lease, 200);
    expect(lease.body.jobs.map((j) => j.id)).toEqual([res.body.job_id]);
    const status = await api.get(`/status/${res.body.job_id}`);
    expectStatus(status, 200);
    expect(status.body).toMatchObject({ job_id: res.body.job_id, status: "leased" });
  });

  it("takes the /api/v1 defaults for what the seed's body leaves out", async () => {
    const res = await api.post("/submit-job", SEED_BODY);
    expect(res.body).toMatchObject({ priority: 5, target: "emulator", retries: 0 });
  });

  it("answers the same job to a retried submission with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": "seed-retry-1" };
    const first = await api.post("/submit-job", SEED_BODY, headers);
    const again = await api.post("/submit-job", SEED_BODY, headers);
    expectStatus(first, 201);
    expectStatus(again, 201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.job_id).toBe(first.body.job_id);
  });

  it.each([
    { name: "a missing test_path", body: { org_id: "qualgent", app_version_id: "xyz123" } },
    { name: "a priority out of range", body: { ...SEED_BODY, priority: 11 } },
    { name: "an unknown target", body: { ...SEED_BODY, target: "tablet" } },
    { name: "a path climbing out of the project", body: { ...SEED_BODY, test_path: "../x.js" } },
    { name: "an unknown field", body: { ...SEED_BODY, job_name: "x" } },
  ])("refuses $name with the error format of /api/v1", async ({ body }) => {
    const res = await api.post("/submit-job", body);
    expectStatus(res, 400);
    expect(res.body.error).toMatchObject({ code: "invalid_request" });
    expect(typeof res.body.error.message).toBe("string");
  });

  it.each([
    {
      name: "an unknown job",
      id: "job_01JD0000000000000000000000",
      status: 404,
      code: "not_found",
    },
    { name: "a malformed id", id: "42", status: 400, code: "invalid_request" },
  ] as const)("answers $name on /status with $status", async ({ id, status, code }) => {
    const res = await api.get(`/status/${id}`);
    expectStatus(res, status);
    expect(res.body.error.code).toBe(code);
  });

  it("lists both routes in the OpenAPI document as compatibility routes", async () => {
    const doc = bodyOf(await api.get("/api/v1/openapi.json"));
    expect(doc.paths["/submit-job"]?.post?.tags).toEqual(["compatibility"]);
    expect(doc.paths["/status/{job_id}"]?.get?.tags).toEqual(["compatibility"]);
    expect(doc.tags).toContainEqual(expect.objectContaining({ name: "compatibility" }));
  });
});

describe("compatibility routes with tokens", () => {
  let server: TestServer;
  let acmeSubmit: Client;
  let acmeRead: Client;
  let globex: Client;
  let acmeJob: string;
  beforeAll(async () => {
    server = await startTestServer();
    const token = async (orgId: string, scopes: ("submit" | "read")[]) =>
      (await issueToken(server.store, { orgId, scopes, name: orgId }, Date.now())).token;
    acmeSubmit = client(server.url, await token("acme", ["submit"]));
    acmeRead = client(server.url, await token("acme", ["read"]));
    globex = client(server.url, await token("globex", ["submit", "read"]));
    acmeJob = bodyOf(await acmeSubmit.post("/submit-job", { ...SEED_BODY, org_id: "acme" })).job_id;
  });
  afterAll(() => server.close());

  it.each([
    {
      name: "no token",
      call: () => client(server.url).get(`/status/${acmeJob}`),
      status: 401,
    },
    {
      name: "no token on submit",
      call: () => client(server.url).post("/submit-job", { ...SEED_BODY, org_id: "acme" }),
      status: 401,
    },
    { name: "a token without read", call: () => acmeSubmit.get(`/status/${acmeJob}`), status: 403 },
    {
      name: "a token without submit",
      call: () => acmeRead.post("/submit-job", { ...SEED_BODY, org_id: "acme" }),
      status: 403,
    },
    { name: "another org's job", call: () => globex.get(`/status/${acmeJob}`), status: 404 },
    {
      name: "a submission for another org",
      call: () => globex.post("/submit-job", { ...SEED_BODY, org_id: "acme" }),
      status: 404,
    },
  ] as const)("refuses $name with $status, as /api/v1 does", async ({ call, status }) => {
    const res = await call();
    expectStatus(res, status);
    expect(typeof res.body.error.code).toBe("string");
  });

  it("shows the org its own job", async () => {
    const res = await acmeRead.get(`/status/${acmeJob}`);
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ job_id: acmeJob, org_id: "acme" });
  });

  it("keeps another org's refused submission out of the store", async () => {
    const before = bodyOf(await acmeRead.get("/api/v1/jobs?org_id=acme")).items.length;
    await globex.post("/submit-job", { ...SEED_BODY, org_id: "acme" });
    expect(bodyOf(await acmeRead.get("/api/v1/jobs?org_id=acme")).items.length).toBe(before);
  });
});
