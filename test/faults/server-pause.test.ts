/**
 * The reaper against a server that was itself not running: across a SIGSTOP of twice the lease
 * TTL, leases whose agents kept heartbeating (their beats wait in the socket backlog) survive,
 * and a lease whose agent really went silent is still reaped afterwards. Both engines.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { client, tempDir } from "../harness.js";
import { killAll, spawnServer } from "../processes.js";
import { createTestSchema } from "../store/engines.js";
import { heartbeating, holdLease, sleep, until } from "./api-agent.js";

const TTL_S = 2;
const HEALTHY = 3;

afterEach(() => killAll());

describe.each(["sqlite", "postgres"] as const)(
  "a server paused past the lease TTL (%s)",
  (engine) => {
    it(`reaps 0 of ${HEALTHY} heartbeating leases across a ${2 * TTL_S} s SIGSTOP`, async () => {
      const schema = engine === "postgres" ? await createTestSchema() : null;
      try {
        const server = await spawnServer(
          schema ? [] : ["--db", join(tempDir("qgjob-faults-pause-"), "qgjob.db")],
          {
            QGJOB_LEASE_TTL_S: String(TTL_S),
            QGJOB_REAP_INTERVAL_S: "0.3",
            ...(schema ? { DATABASE_URL: schema.url } : {}),
          },
        );
        const api = client(server.url);
        const healthy = [];
        const beats = [];
        for (let i = 0; i < HEALTHY; i++) {
          const held = await holdLease(api, `${engine}-healthy-${i}`, { start: true });
          healthy.push(held);
          // At a real agent's pace: a third of the TTL.
          beats.push(heartbeating(api, held, (TTL_S * 1000) / 3));
        }
        const silent = await holdLease(api, `${engine}-silent`, { start: true });
        await sleep(500);

        server.child.kill("SIGSTOP");
        await sleep(2 * TTL_S * 1000);
        server.child.kill("SIGCONT");
        await sleep(1500);
        for (const b of beats) b.stop();

        const jobs = await Promise.all(
          healthy.map(async (h) => {
            const job = await api.get(`/api/v1/jobs/${h.job.id}`);
            return job.status === 200 ? job.body : null;
          }),
        );
        // A job the server cannot answer for counts as reaped.
        const reaped = jobs.filter((j) => j?.status !== "running" || j.attempts !== 1).length;
        const lost = beats.filter((b) => b.statuses.includes(409)).length;
        // The silent agent is still found out: its lease ends once the TTL passes while listening.
        await until(
          "the silent lease is reaped",
          async () => {
            const job = await api.get(`/api/v1/jobs/${silent.job.id}`);
            return job.status !== 200 || job.body.status !== "running";
          },
          15_000,
        );
        console.log(
          `server pause (${engine}): ${reaped} of ${HEALTHY} healthy leases reaped, ${lost} agents ` +
            `told lease_lost across a ${2 * TTL_S} s SIGSTOP (TTL ${TTL_S} s); the silent lease reaped after`,
        );
        expect(reaped).toBe(0);
        expect(lost).toBe(0);
      } finally {
        killAll();
        await schema?.drop();
      }
    });
  },
);
