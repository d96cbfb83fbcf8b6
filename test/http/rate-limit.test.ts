/**
 * The per-token rate limit over HTTP: an exhausted token gets 429 `rate_limited` with
 * Retry-After, other tokens and public routes are untouched, and open mode counts per address.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  startTestServer,
  submit,
  type Client,
  type TestServer,
} from "../harness.js";

const BURST = 5;

async function spend(api: Client, n: number) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await api.get("/api/v1/runs")).status);
  return statuses;
}

describe("with tokens", () => {
  let server: TestServer;
  let first: Client;
  let second: Client;

  beforeAll(async () => {
    // A slow refill so the test sees an empty bucket stay empty.
    server = await startTestServer({ rateLimitPerS: 0.1, rateLimitBurst: BURST });
    const token = async (name: string) =>
      (
        await issueToken(
          server.store,
          { orgId: "acme", scopes: ["read", "submit"], name },
          Date.now(),
        )
      ).token;
    first = client(server.url, await token("first"));
    second = client(server.url, await token("second"));
  });
  afterAll(() => server.close());

  it("answers 429 rate_limited with Retry-After once a token spent its burst", async () => {
    expect(await spend(first, BURST)).toEqual(Array(BURST).fill(200));
    const refused = await submit(first, { org_id: "acme", tests: ["a.spec.js"] });
    expectStatus(refused, 429);
    expect(refused.body.error.code).toBe("rate_limited");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(refused.body.error.details).toEqual({ retry_after_s: retryAfter });
    // The refused submission stored nothing.
    expect(bodyOf(await second.get("/api/v1/runs")).items).toEqual([]);
  });

  it("counts each token on its own, and leaves public routes and bad tokens alone", async () => {
    expect(await spend(second, BURST - 1)).toEqual(Array(BURST - 1).fill(200));
    expect((await first.get("/healthz")).status).toBe(200);
    expect((await first.get("/api/v1/openapi.json")).status).toBe(200);
    const stranger = client(server.url, "qgj_unknown");
    expect((await stranger.get("/api/v1/runs")).status).toBe(401);
    expect((await first.get("/api/v1/runs")).status).toBe(429);
  });
});

describe("in open mode", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ rateLimitPerS: 0.1, rateLimitBurst: BURST });
  });
  afterAll(() => server.close());

  it("counts requests per client address", async () => {
    const local = client(server.url);
    expect(await spend(local, BURST + 1)).toEqual([...Array(BURST).fill(200), 429]);
  });
});

describe("the default limit", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("lets an agent's register, lease polls and heartbeats through back to back", async () => {
    const api = client(server.url);
    const agent = bodyOf(await api.post("/api/v1/agents", { name: "a", target: "emulator" })).id;
    const statuses = new Set<number>();
    for (let i = 0; i < 300; i++) {
      statuses.add((await api.post(`/api/v1/agents/${agent}/heartbeat`, {})).status);
      statuses.add((await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 0 })).status);
    }
    expect([...statuses].sort()).toEqual([200, 204]);
  });
});
