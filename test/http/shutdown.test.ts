/**
 * A request that reaches the server while it shuts down gets 503 `unavailable` in the error
 * format every client parses (and retries), never Fastify's own body.
 */
import { join } from "node:path";
import { rmSync } from "node:fs";
import { pino } from "pino";
import { expect, it } from "vitest";
import { loadConfig, storeOptions } from "../../app/config.js";
import { DiskBlobStore } from "../../app/blobs/disk.js";
import { Blobs } from "../../app/blobs/service.js";
import { LinkSigner } from "../../app/evidence/links.js";
import { Authenticator } from "../../app/http/auth.js";
import { createMetrics } from "../../app/metrics.js";
import { buildHttp } from "../../app/http/server.js";
import { RunService } from "../../app/runs.js";
import { TestService } from "../../app/tests.js";
import { SqliteStore } from "../../app/store/sqlite/engine.js";
import { tempDir } from "../harness.js";

it("answers a request arriving during shutdown with 503 unavailable in the error format", async () => {
  const dir = tempDir();
  const store = new SqliteStore(join(dir, "qgjob.db"), storeOptions(loadConfig({}, {})));
  const metrics = createMetrics(store);
  const app = await buildHttp(
    {
      store,
      blobs: new Blobs(store, new DiskBlobStore(join(dir, "blobs")), 1024),
      auth: new Authenticator(store, true),
      metrics,
      runs: new RunService(store, metrics, Date.now),
      tests: new TestService(store, Date.now),
      clock: Date.now,
      shutdown: new AbortController().signal,
      metricsPublic: false,
      tokenTtlMs: null,
      links: new LinkSigner(undefined),
      retentionMs: 30 * 86_400_000,
    },
    {
      logger: pino({ level: "silent" }),
      bodyLimitBytes: 1024 * 1024,
      requestTimeoutMs: 10_000,
      connections: { perAddress: 100, total: 0 },
      rateLimit: { perSecond: 0, burst: 1 },
      version: "test",
      trustProxy: false,
    },
  );
  let during: { status: number; body: any; headers: Headers } | undefined;
  // The listening socket is still open while close hooks run: a client can still get in.
  app.addHook("preClose", async () => {
    const res = await fetch(`${url}/api/v1/runs`);
    during = { status: res.status, body: await res.json(), headers: res.headers };
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    expect((await fetch(`${url}/api/v1/runs`)).status).toBe(200);
    await app.close();
    expect(during?.status).toBe(503);
    expect(during?.body.error).toMatchObject({ code: "unavailable" });
    expect(typeof during?.body.error.message).toBe("string");
    expect(during?.headers.get("retry-after")).toBe("1");
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
