/**
 * Live logs on a real server: an agent posts a running test's output in chunks, a watcher
 * follows the job's log stream (what the server held, then live chunks, then `end` when the
 * job finishes), resumes with Last-Event-ID; repeated posts, binary bytes and a flood of output
 * neither duplicate nor grow without bound; bad posts get a 4xx.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../api/sse.js";
import {
  expectStatus,
  finishJob,
  client,
  registerAgent,
  serverPerSuite,
  startTestServer,
  submit,
} from "../harness.js";
import { createTestSchema, enginesUnderTest } from "../store/engines.js";

const suite = serverPerSuite();

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

async function leasedJob(name: string) {
  await submit(suite.api, { app_version_id: `log-${name}`, tests: ["a.spec.ts"] });
  const agent = await registerAgent(suite.api, name);
  const lease = await suite.api.post(`/api/v1/agents/${agent}/lease`, {});
  expectStatus(lease, 200);
  const body = lease.body;
  const job = body.jobs[0]!;
  await suite.api.post(`/api/v1/leases/${body.id}/jobs/${job.id}/start`, { attempt: job.attempt });
  const post = (chunks: { seq: number; data: string }[], dropped = 0) =>
    suite.api.post(`/api/v1/leases/${body.id}/jobs/${job.id}/log`, {
      attempt: job.attempt,
      dropped_bytes: dropped,
      chunks,
    });
  return { leaseId: body.id, job, post };
}

async function open(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(suite.server.url + path, { headers });
  expect(res.status).toBe(200);
  return readSse(res.body!);
}

async function take(events: AsyncGenerator<SseEvent>, stop: (e: SseEvent) => boolean) {
  const seen: SseEvent[] = [];
  for (let step = await events.next(); !step.done; step = await events.next()) {
    seen.push(step.value);
    if (stop(step.value)) break;
  }
  return seen;
}

const texts = (events: SseEvent[]) =>
  events.filter((e) => e.event === "log").map((e) => (JSON.parse(e.data) as { text: string }).text);

describe("a job's live log", () => {
  it("streams what was posted, then live chunks, and ends with the job", async () => {
    const { leaseId, job, post } = await leasedJob("live-1");
    expect((await post([{ seq: 0, data: b64("line 1\n") }])).status).toBe(200);
    const events = await open(`/api/v1/jobs/${job.id}/log/events`);
    const first = await take(events, (e) => e.event === "ready");
    expect(texts(first)).toEqual(["line 1\n"]);
    expect(first.find((e) => e.event === "log")!.id).toBe(`${job.attempt}.0`);

    await post([{ seq: 1, data: b64("line 2\n") }]);
    await post([{ seq: 1, data: b64("line 2\n") }]); // a repeated post: heard once
    await post([{ seq: 2, data: b64("line 3 ✓\n") }], 17);
    const live = await take(events, (e) => e.event === "log" && e.id === `${job.attempt}.2`);
    expect(texts(live)).toEqual(["line 2\n", "line 3 ✓\n"]);
    expect(JSON.parse(live.at(-1)!.data)).toMatchObject({ dropped_bytes: 17 });

    await finishJob(suite.api, leaseId, job, "passed");
    const rest = await take(events, () => false);
    expect(rest.at(-1)).toMatchObject({ event: "end" });
    expect(JSON.parse(rest.at(-1)!.data)).toEqual({ status: "passed", attempt: job.attempt });

    // A finished job's stream: what is held, then the end, at once.
    const again = await take(await open(`/api/v1/jobs/${job.id}/log/events`), () => false);
    expect(texts(again)).toEqual(["line 1\n", "line 2\n", "line 3 ✓\n"]);
    expect(again.at(-1)!.event).toBe("end");
  });

  it("resumes after Last-Event-ID with the later chunks only", async () => {
    const { job, post } = await leasedJob("live-2");
    await post([0, 1, 2, 3].map((seq) => ({ seq, data: b64(`chunk ${seq}\n`) })));
    const events = await open(`/api/v1/jobs/${job.id}/log/events`, {
      "last-event-id": `${job.attempt}.1`,
    });
    expect(texts(await take(events, (e) => e.event === "ready"))).toEqual([
      "chunk 2\n",
      "chunk 3\n",
    ]);
    await events.return(undefined);
  });

  it("survives binary output and a flood: the ring stays bounded, the stream flows", async () => {
    const { job, post } = await leasedJob("live-3");
    const binary = randomBytes(4096);
    expect((await post([{ seq: 0, data: b64(binary) }])).status).toBe(200);
    // 4 MiB in 4 KiB chunks, 64 per post.
    for (let p = 0; p < 16; p++) {
      const chunks = Array.from({ length: 64 }, (_, i) => ({
        seq: 1 + p * 64 + i,
        data: b64("x".repeat(4095) + "\n"),
      }));
      expect((await post(chunks)).status).toBe(200);
    }
    const held = await take(
      await open(`/api/v1/jobs/${job.id}/log/events`),
      (e) => e.event === "ready",
    );
    const chars = texts(held).reduce((n, t) => n + t.length, 0);
    expect(chars).toBeLessThanOrEqual(256 * 1024);
    expect(held.at(-2)!.id).toBe(`${job.attempt}.1024`); // the newest chunks are the ones kept
  });

  it("refuses bad posts with a 4xx and keeps other jobs' logs apart", async () => {
    const { leaseId, job, post } = await leasedJob("live-4");
    expect((await post([{ seq: 0, data: "not base64!" }])).status).toBe(400);
    expect((await post([{ seq: 0, data: b64("x".repeat(4097)) }])).status).toBe(400);
    expect((await post([])).status).toBe(400);
    const other = await leasedJob("live-5");
    const wrong = await suite.api.post(`/api/v1/leases/${leaseId}/jobs/${other.job.id}/log`, {
      attempt: 1,
      dropped_bytes: 0,
      chunks: [{ seq: 0, data: b64("not mine") }],
    });
    expectStatus(wrong, 404);
    expect(wrong.body.error.code).toBe("not_found");
    const bad = await fetch(`${suite.server.url}/api/v1/jobs/${job.id}/log/events`, {
      headers: { "last-event-id": "garbage" },
    });
    expect(bad.status).toBe(400);
    expect(
      (await fetch(`${suite.server.url}/api/v1/jobs/job_0000000000nope/log/events`)).status,
    ).toBe(404);
  });
});

const postgres = (await enginesUnderTest()).some((e) => e.name === "postgres");
describe.runIf(postgres)("a live log across Postgres replicas", () => {
  it("reaches a watcher on the other replica, in order, and ends there with the job", async () => {
    const schema = await createTestSchema();
    const [a, b] = await Promise.all([
      startTestServer({ databaseUrl: schema.url }),
      startTestServer({ databaseUrl: schema.url }),
    ]);
    try {
      const onA = client(a.url);
      const run = await submit(onA, { app_version_id: "log-pg", tests: ["a.spec.ts"] });
      expectStatus(run, 201);
      const agent = await registerAgent(onA, "live-pg");
      const leased = await onA.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(leased, 200);
      const lease = leased.body;
      const job = lease.jobs[0]!;
      expect(run.body.jobs[0]?.id).toBe(job.id);
      await onA.post(`/api/v1/leases/${lease.id}/jobs/${job.id}/start`, { attempt: 1 });
      const res = await fetch(`${b.url}/api/v1/jobs/${job.id}/log/events`);
      const events = readSse(res.body!);
      await take(events, (e) => e.event === "ready");
      for (let seq = 0; seq < 20; seq++) {
        const posted = await onA.post(`/api/v1/leases/${lease.id}/jobs/${job.id}/log`, {
          attempt: 1,
          dropped_bytes: 0,
          chunks: [{ seq, data: b64(`line ${seq}\n`) }],
        });
        expect(posted.status).toBe(200);
      }
      await onA.post(`/api/v1/leases/${lease.id}/jobs/${job.id}/result`, {
        attempt: 1,
        status: "passed",
        duration_ms: 10,
      });
      const rest = await take(events, () => false);
      expect(texts(rest)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}\n`));
      expect(rest.at(-1)!.event).toBe("end");
    } finally {
      await Promise.all([a.close(), b.close()]);
      await schema.drop();
    }
  }, 60_000);
});
