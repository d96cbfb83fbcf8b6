/**
 * Draining over HTTP: an agent whose installs keep failing gets no work, shows as drained with
 * the errors that did it, and `POST /api/v1/agents/{id}/undrain` ends that (agent scope, its org).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scope } from "../../api/types.js";
import { issueToken } from "../../app/tokens.js";
import {
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  submit,
  type Client,
  type Reply,
  type TestServer,
} from "../harness.js";

const ORG = "acme";

function expectError(res: Reply, status: 403 | 404, code: string) {
  expectStatus(res, status);
  expect(res.body.error.code).toBe(code);
}

describe("agent drain over HTTP", () => {
  let server: TestServer;
  const token = async (orgId: string | null, scopes: Scope[]) =>
    client(
      server.url,
      (await issueToken(server.store, { orgId, scopes, name: `${orgId}-${scopes}` }, Date.now()))
        .token,
    );
  let agentApi: Client;
  let agentId: string;

  beforeAll(async () => {
    server = await startTestServer({ drainErrors: 2, drainWindowS: 600 });
    agentApi = await token(ORG, ["agent", "submit", "read"]);
    agentId = await registerAgent(agentApi, "pixel-7");
  });
  afterAll(() => server.close());

  const lease = () => agentApi.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 0 });

  it("drains an agent after its second failed install, and undrains it", async () => {
    for (let i = 0; i < 2; i++) {
      expect(
        (await submit(agentApi, { org_id: ORG, tests: [`t${i}.spec.js`], max_attempts: 1 })).status,
      ).toBe(201);
      const granted = await lease();
      expectStatus(granted, 200);
      const job = granted.body.jobs[0]!;
      const res = await finishJob(agentApi, granted.body.id, job, "error", {
        message: "adb: failed to install app.apk: INSTALL_FAILED_INSUFFICIENT_STORAGE",
      });
      expect(res.status).toBe(200);
    }
    await submit(agentApi, { org_id: ORG, tests: ["next.spec.js"] });
    expect((await lease()).status).toBe(204);

    const shown = await agentApi.get(`/api/v1/agents/${agentId}`);
    expectStatus(shown, 200);
    expect(shown.body.drained_at).not.toBeNull();
    expect(shown.body.recent_errors).toHaveLength(2);
    expect(shown.body.recent_errors?.[1]?.message).toContain("INSTALL_FAILED_INSUFFICIENT_STORAGE");

    const undrained = await agentApi.post(`/api/v1/agents/${agentId}/undrain`);
    expectStatus(undrained, 200);
    expect(undrained.body.drained_at).toBeNull();
    expect((await lease()).status).toBe(200);
  });

  it("refuses an undrain without the agent scope (403), for another org or an unknown id (404)", async () => {
    const reader = await token(ORG, ["read", "submit"]);
    expectError(await reader.post(`/api/v1/agents/${agentId}/undrain`), 403, "forbidden");
    const other = await token("globex", ["admin"]);
    expectError(await other.post(`/api/v1/agents/${agentId}/undrain`), 404, "not_found");
    expectError(
      await agentApi.post("/api/v1/agents/agt_01JD0000000000000000000000/undrain"),
      404,
      "not_found",
    );
  });
});
