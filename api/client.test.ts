/**
 * The API client against a real server, and against a misbehaving proxy in front of it that
 * loses answers and returns 503s: retries must never turn one submission into two.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closedPort, startTestServer, type TestServer } from "../test/harness.js";
import { ApiError, QgjobClient } from "./client.js";

let server: TestServer;
let proxy: http.Server | undefined;

afterEach(async () => {
  await new Promise((r) => (proxy ? proxy.close(r) : r(null)));
  proxy = undefined;
  await server?.close();
});

/**
 * Forwards to the real server; `misbehave(n)` decides the fate of the n-th request:
 * "drop" forwards it but cuts the connection instead of answering, "503" never forwards it.
 */
async function flakyProxy(target: string, misbehave: (n: number) => "drop" | "503" | "pass") {
  let n = 0;
  proxy = http.createServer((req, res) => {
    const fate = misbehave(++n);
    if (fate === "503") {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "busy" } }));
      return;
    }
    const upstream = http.request(
      target + req.url,
      { method: req.method, headers: req.headers },
      (up) => {
        if (fate === "drop") {
          up.resume();
          up.on("end", () => res.socket?.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(proxy!.address() as AddressInfo).port}`;
}

const submission = { org_id: "acme", app_version_id: "v1", tests: ["a.spec.js", "b.spec.js"] };

describe("QgjobClient", () => {
  it("retries a submission whose answer was lost, and the server keeps one run", async () => {
    server = await startTestServer();
    const url = await flakyProxy(server.url, (n) => (n === 1 ? "drop" : "pass"));
    const retries: number[] = [];
    const api = new QgjobClient({
      baseUrl: url,
      backoffMs: 10,
      onRetry: (r) => retries.push(r.attempt),
    });
    const run = await api.submitRun(submission);
    expect(retries).toEqual([1]);
    expect(run.jobs.map((j) => j.test_path)).toEqual(["a.spec.js", "b.spec.js"]);
    const direct = new QgjobClient({ baseUrl: server.url });
    expect((await direct.listRuns()).items.map((r) => r.id)).toEqual([run.id]);
  });

  it("waits out 503s with backoff", async () => {
    server = await startTestServer();
    const url = await flakyProxy(server.url, (n) => (n <= 2 ? "503" : "pass"));
    const api = new QgjobClient({ baseUrl: url, backoffMs: 10 });
    const job = await api.submitJob({
      org_id: "acme",
      app_version_id: "v1",
      test_path: "a.spec.js",
    });
    expect(job.status).toBe("queued");
  });

  it("waits out a 429 for as long as the server's Retry-After says", async () => {
    server = await startTestServer({ rateLimitPerS: 1, rateLimitBurst: 1 });
    const retries: { delayMs: number; code: string }[] = [];
    const api = new QgjobClient({
      baseUrl: server.url,
      backoffMs: 10,
      onRetry: (r) => retries.push({ delayMs: r.delayMs, code: r.error.code }),
    });
    await api.listRuns();
    expect((await api.listRuns()).items).toEqual([]);
    expect(retries.map((r) => r.code)).toContain("rate_limited");
    expect(Math.min(...retries.map((r) => r.delayMs))).toBeGreaterThanOrEqual(1000);
  });

  it("gives up after its retries with an error that names the call and the cause", async () => {
    const port = await closedPort();
    const api = new QgjobClient({ baseUrl: `http://127.0.0.1:${port}`, retries: 1, backoffMs: 10 });
    const err = await api.getJob("job_01JD0000000000000000000000").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).kind).toBe("network");
    expect((err as ApiError).message).toMatch(
      new RegExp(
        `^GET http://127.0.0.1:${port}/api/v1/jobs/job_\\w+: unreachable: cannot reach the server \\(ECONNREFUSED\\)`,
      ),
    );
  });

  it("does not retry a refusal, and carries the server's code and message", async () => {
    server = await startTestServer();
    const retries: number[] = [];
    const api = new QgjobClient({ baseUrl: server.url, onRetry: (r) => retries.push(r.attempt) });
    const err = (await api
      .submitRun({ ...submission, tests: ["../escape.spec.js"] })
      .catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ kind: "http", status: 400, code: "invalid_request" });
    expect(err.message).toContain("tests");
    expect(retries).toEqual([]);
  });

  it("a refused HEAD (a blob upload's first call) carries the server's code and message too", async () => {
    server = await startTestServer();
    const api = new QgjobClient({ baseUrl: server.url, token: "qgj_wrong" });
    const err = (await api.statBlob("a".repeat(64)).catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({
      method: "HEAD",
      status: 401,
      code: "unauthorized",
      detail: "invalid API token",
    });
  });

  it("times out a server that never answers", async () => {
    proxy = http.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => proxy!.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const api = new QgjobClient({ baseUrl: url, timeoutMs: 200, retries: 0 });
    const err = (await api.queue().catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ kind: "timeout", code: "timeout" });
    proxy.closeAllConnections();
  });

  it("returns null from a lease long-poll that found no work", async () => {
    server = await startTestServer();
    const api = new QgjobClient({ baseUrl: server.url });
    const agent = await api.registerAgent({ name: "a1", target: "emulator" });
    expect(await api.lease(agent.id, 0)).toBeNull();
  });
});
