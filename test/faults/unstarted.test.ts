/**
 * A leased job its agent never starts (the agent heartbeats, so the lease never expires) goes
 * back to the queue once the lease-start bound passes; a lease whose job runs is left alone.
 */
import { afterAll, describe, expect, it } from "vitest";
import { bodyOf, client, startTestServer, type TestServer } from "../harness.js";
import { heartbeating, holdLease, sleep, until } from "./api-agent.js";

describe("a lease whose agent starts nothing", () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it("gives its job back to the queue after the lease-start bound", async () => {
    server = await startTestServer({ leaseTtlS: 2, reapIntervalS: 0.2, leaseStartS: 1 });
    const api = client(server.url);
    const leasedAt = Date.now();
    const idle = await holdLease(api, "idle", { start: false });
    const busy = await holdLease(api, "busy", { start: true });
    const beats = [idle, busy].map((h) => heartbeating(api, h, 300));
    let requeuedAfter: number | null = null;
    try {
      await until(
        "the never-started job is back in the queue",
        async () => {
          const job = await api.get(`/api/v1/jobs/${idle.job.id}`);
          return job.status === 200 && job.body.status === "queued";
        },
        8000,
      );
      requeuedAfter = Date.now() - leasedAt;
      await sleep(500);
    } finally {
      for (const b of beats) b.stop();
      const job = await api.get(`/api/v1/jobs/${idle.job.id}`);
      const status = job.status === 200 ? job.body.status : `HTTP ${job.status}`;
      console.log(
        `leased, never started: job ${status} ` +
          (requeuedAfter === null ? "after 8 s" : `${requeuedAfter} ms after its lease`) +
          " (lease-start bound 1 s, TTL 2 s, agent heartbeating)",
      );
    }
    const running = bodyOf(await api.get(`/api/v1/jobs/${busy.job.id}`));
    expect(running).toMatchObject({ status: "running", attempts: 1 });
    // The idle agent hears its lease is gone on its next beat.
    expect(beats[0]!.statuses).toContain(409);
    expect(beats[1]!.statuses).not.toContain(409);
  });
});
