/**
 * Shutting down: a request that reaches the server meanwhile gets 503 `unavailable` in the error
 * format every client parses (and retries), never Fastify's own body; and no client holds the
 * close, not even one whose connection never sends a request.
 */
import { once } from "node:events";
import { connect } from "node:net";
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
import { startTestServer, tempDir } from "../harness.js";

/** The HTTP app alone, so a test can add close hooks of its own before it listens. */
async function buildApp(dir: string) {
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
  return { app, store };
}

/** A raw connection that sends nothing; resolves once connected, with its close to await. */
async function silentConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const closed = once(socket, "close");
  await once(socket, "connect");
  return { socket, closed };
}

it("answers a request arriving during shutdown with 503 unavailable in the error format", async () => {
  const dir = tempDir();
  const { app, store } = await buildApp(dir);
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

// Node's fetch leaves such a connection behind when a call in flight is aborted (an agent that
// stops during its long poll): if it lands before the close, the close used to wait for ever.
it("closes while a client holds a connection on which it never sent a request", async () => {
  const server = await startTestServer();
  const silent = await silentConnection(server.url);
  try {
    await server.close();
    await silent.closed;
  } finally {
    silent.socket.destroy();
  }
});

it("drops a connection made during shutdown that sends nothing", async () => {
  const dir = tempDir();
  const { app, store } = await buildApp(dir);
  let silent: Awaited<ReturnType<typeof silentConnection>> | undefined;
  app.addHook("preClose", async () => {
    silent = await silentConnection(url);
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    await app.close();
    await silent?.closed;
  } finally {
    silent?.socket.destroy();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
