/**
 * The event streams on a real server: a run's job changes for watchers (snapshot, changes,
 * end; resumable with Last-Event-ID), shared by 500 watchers, a watcher that never reads
 * dropped while the others keep flowing, and the lease stream that tells an agent of cancels
 * and revocation.
 */
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { RunWatch } from "../../api/run-watch.js";
import { readSse, type SseEvent } from "../../api/sse.js";
import {
  bodyOf,
  client,
  expectStatus,
  finishJob,
  registerAgent,
  startTestServer,
  submit,
  type Client,
  type TestServer,
} from "../harness.js";

let server: TestServer;
let api: Client;

// A server per test: a lease takes any queued group, so tests must not see each other's jobs.
// Every watcher here comes from 127.0.0.1, as from behind one balancer: above the default cap of
// connections per address.
const MANY = { maxConnectionsPerAddress: 2000 };
beforeEach(async () => {
  server = await startTestServer({ leaseTtlS: 2, reapIntervalS: 0.2, ...MANY });
  api = client(server.url);
});
afterEach(() => server.close());

async function open(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  return readSse(res.body!);
}

/** Reads events until `stop` says so (or the stream ends). */
async function take(events: AsyncGenerator<SseEvent>, stop: (e: SseEvent) => boolean) {
  // Not for-await: leaving that loop would close the stream.
  const seen: SseEvent[] = [];
  for (let step = await events.next(); !step.done; step = await events.next()) {
    seen.push(step.value);
    if (stop(step.value)) break;
  }
  return seen;
}

async function leaseAll(name: string) {
  const agent = await registerAgent(api, name);
  const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
  expectStatus(lease, 200);
  return lease.body;
}

describe("a run's event stream", () => {
  it("sends a snapshot, then each job change as it happens, and closes when the run ends", async () => {
    const run = bodyOf(
      await submit(api, { app_version_id: "ev-1", tests: ["a.spec.ts", "b.spec.ts"] }),
    );
    const events = await open(`/api/v1/runs/${run.id}/events`);
    const [snapshot] = await take(events, () => true);
    expect(snapshot).toMatchObject({ event: "snapshot" });
    expect(JSON.parse(snapshot!.data).jobs).toHaveLength(2);

    const lease = await leaseAll("ev-agent-1");
    for (const job of lease.jobs) await finishJob(api, lease.id, job, "passed");
    const rest = await take(events, () => false); // to the server's end of the stream
    const statuses = rest
      .filter((e) => e.event === "job")
      .map((e) => (JSON.parse(e.data) as { status: string }).status);
    expect(statuses).toContain("passed");
    expect(rest.at(-1)).toMatchObject({ event: "end" });
    expect(JSON.parse(rest.at(-1)!.data)).toMatchObject({ status: "passed" });
  });

  it("resumes from Last-Event-ID with what changed since, without a snapshot", async () => {
    const run = bodyOf(
      await submit(api, { app_version_id: "ev-2", tests: ["a.spec.ts", "b.spec.ts"] }),
    );
    const first = await open(`/api/v1/runs/${run.id}/events`);
    const [snapshot] = await take(first, () => true);
    await first.return(undefined);
    const lease = await leaseAll("ev-agent-2");
    await finishJob(api, lease.id, lease.jobs[0]!, "failed");

    const resumed = await open(`/api/v1/runs/${run.id}/events`, {
      "last-event-id": snapshot!.id!,
    });
    const batch = await take(resumed, (e) => e.event === "run");
    await resumed.return(undefined);
    expect(batch.map((e) => e.event)).not.toContain("snapshot");
    const jobs = batch.filter((e) => e.event === "job").map((e) => JSON.parse(e.data));
    expect(jobs.find((j) => j.id === lease.jobs[0]!.id)).toMatchObject({ status: "failed" });
    expect(JSON.parse(batch.at(-1)!.data).counts).toMatchObject({ failed: 1, leased: 1 });
    await api.post(`/api/v1/runs/${run.id}/cancel`);
  });

  it("answers 404 for a run that does not exist and 400 for a bad Last-Event-ID", async () => {
    const missing = await api.get("/api/v1/runs/run_01JD8ZK3V4QH6T2X0M9B5C7R1E/events");
    expect(missing.status).toBe(404);
    const run = bodyOf(await submit(api, { app_version_id: "ev-3", tests: ["a.spec.ts"] }));
    const bad = await api.get(`/api/v1/runs/${run.id}/events`, {
      "last-event-id": "yesterday",
    });
    expectStatus(bad, 400);
    expect(bad.body.error.code).toBe("invalid_request");
    await api.post(`/api/v1/runs/${run.id}/cancel`);
  });

  it("keeps every watcher's stream through a failed read of the run, to its end", async () => {
    const run = bodyOf(await submit(api, { app_version_id: "ev-5", tests: ["a.spec.ts"] }));
    const watchers = await Promise.all(
      Array.from({ length: 20 }, () => open(`/api/v1/runs/${run.id}/events`)),
    );
    for (const w of watchers) await take(w, (e) => e.event === "snapshot");
    // The next reads fail, as when the database is busy or away for a moment.
    const getRunPage = server.store.getRunPage.bind(server.store);
    let failures = 3;
    server.store.getRunPage = async (...args) => {
      if (failures-- > 0) throw new Error("database is locked");
      return getRunPage(...args);
    };
    await api.post(`/api/v1/runs/${run.id}/cancel`);
    for (const w of watchers) {
      const rest = await take(w, () => false);
      expect(rest.at(-1)).toMatchObject({ event: "end" });
    }
    expect(failures).toBeLessThan(0);
  });

  it("lets the typed client follow a whole run on one request", async () => {
    const run = bodyOf(
      await submit(api, { app_version_id: "ev-4", tests: ["a.spec.ts", "b.spec.ts"] }),
    );
    const watch = new RunWatch(new QgjobClient({ baseUrl: server.url }), run.id);
    expect((await watch.next(1)).status).toBe("queued");
    const lease = await leaseAll("ev-agent-4");
    for (const job of lease.jobs) await finishJob(api, lease.id, job, "passed");
    let seen = await watch.next(5);
    while (seen.status !== "passed") seen = await watch.next(5);
    watch.close();
    expect(seen.jobs.map((j) => j.status)).toEqual(["passed", "passed"]);
    expect({ requests: watch.requests, polling: watch.polling }).toEqual({
      requests: 1,
      polling: false,
    });
  });
});

describe("bounded streams", () => {
  it("serves 500 watchers of one run from one reader", async () => {
    const run = bodyOf(
      await submit(api, { app_version_id: "ev-7", tests: ["a.spec.ts", "b.spec.ts"] }),
    );
    const path = `/api/v1/runs/${run.id}/events`;
    let reconnects = 0;
    /** As a client must: a stream that closed without `end` is opened again where it left. */
    async function watchToEnd(first: AsyncGenerator<SseEvent>) {
      let events = first;
      let lastId: string | null = null;
      for (;;) {
        const seen = await take(events, (e) => e.event === "end");
        lastId = seen.findLast((e) => e.id !== null)?.id ?? lastId;
        if (seen.at(-1)?.event === "end") return seen;
        reconnects++;
        events = await open(path, lastId === null ? {} : { "last-event-id": lastId });
      }
    }
    const watchers = await Promise.all(Array.from({ length: 500 }, () => open(path)));
    const heapBefore = process.memoryUsage().heapUsed;
    const ends = watchers.map(watchToEnd);
    // (No lease here: with 500 streams open, the test's 2 s lease TTL could run out.)
    await api.post(`/api/v1/runs/${run.id}/cancel`);
    for (const events of await Promise.all(ends)) {
      expect(events.at(-1)).toMatchObject({ event: "end" });
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: "cancelled" });
    }
    console.log(
      `500 watchers of one run: ${reconnects} reconnects; test process heap ` +
        `${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(1)} MB more at the end`,
    );
  }, 60_000);

  it("drops a client that never reads, while another watcher of the run keeps flowing", async () => {
    await server.close();
    server = await startTestServer({ sseStallS: 1, ...MANY });
    api = client(server.url);
    const tests = Array.from({ length: 4000 }, (_, i) => `tests/t${i}.spec.ts`);
    const run = bodyOf(await submit(api, { app_version_id: "ev-5", tests }));
    const path = `/api/v1/runs/${run.id}/events`;
    // Sends its request, then never reads a byte: the snapshot alone fills its socket.
    const stuck = connect(Number(new URL(server.url).port), "127.0.0.1");
    stuck.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n`);
    stuck.pause();
    const reader = await open(path);
    await take(reader, (e) => e.event === "snapshot");
    await api.post(`/api/v1/runs/${run.id}/cancel`);
    const rest = await take(reader, (e) => e.event === "end");
    expect(rest.filter((e) => e.event === "job")).toHaveLength(4000);
    // Past the stall limit (1 s here) the server has hung up on it: reading now finds the
    // stream cut short, without its end.
    await new Promise((r) => setTimeout(r, 2500));
    let got = "";
    stuck.on("data", (d: Buffer) => (got = (got + d.toString("latin1")).slice(-4096)));
    stuck.on("error", () => undefined);
    await new Promise<void>((r) => {
      stuck.once("close", () => r());
      stuck.resume();
    });
    expect(got).not.toContain("event: end");
  });
});

describe("the lease's push channel", () => {
  it("tells the agent of a cancel, and of its lease being revoked when it expires", async () => {
    const run = await submit(api, { app_version_id: "ev-6", tests: ["a.spec.ts", "b.spec.ts"] });
    const lease = await leaseAll("ev-agent-6");
    const events = await open(`/api/v1/leases/${lease.id}/events`);
    await api.post(`/api/v1/jobs/${lease.jobs[0]!.id}/cancel`);
    const [cancel] = await take(events, () => true);
    expect(cancel).toMatchObject({ event: "cancel" });
    expect(JSON.parse(cancel!.data)).toEqual({ job_ids: [lease.jobs[0]!.id] });
    // No heartbeat: the lease expires (TTL 2 s) and the reaper settles it.
    const rest = await take(events, () => false);
    expect(rest.at(-1)).toMatchObject({ event: "revoked" });
    expect(run.status).toBe(201);
  });

  it("is 404 for a lease that does not exist", async () => {
    const res = await api.get("/api/v1/leases/lea_01JD8ZK3V4QH6T2X0M9B5C7R1E/events");
    expect(res.status).toBe(404);
  });
});
