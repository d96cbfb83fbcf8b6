/**
 * A result with more attachments than the server keeps: the result is recorded (the test is not
 * run again) with the first 50 attachments and the rest counted as dropped.
 */
import { afterAll, describe, expect, it } from "vitest";
import { client, startTestServer, type TestServer } from "../harness.js";
import { holdLease } from "./api-agent.js";

describe("a result with too many attachments", () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it("keeps the result and 50 attachments, and counts the rest as dropped", async () => {
    server = await startTestServer();
    const api = client(server.url);
    const held = await holdLease(api, "screenshots", { start: true });
    const artifacts = Array.from({ length: 120 }, (_, i) => ({
      name: `step-${i}.png`,
      url: `https://evidence.example/step-${i}.png`,
      content_type: "image/png",
    }));
    const res = await api.post(`/api/v1/leases/${held.leaseId}/jobs/${held.job.id}/result`, {
      attempt: held.job.attempt,
      status: "passed",
      duration_ms: 1200,
      artifacts,
    });
    const job = (await api.get(`/api/v1/jobs/${held.job.id}`)).body;
    console.log(
      `attachments: a result with 120 answered ${res.status}; job ${job.status} after ` +
        `${job.attempts} attempt(s), ${job.result?.artifacts?.length ?? 0} kept, ` +
        `${job.result?.artifacts_dropped ?? 0} counted as dropped`,
    );
    expect(res.status).toBe(200);
    expect(job).toMatchObject({ status: "passed", attempts: 1 });
    expect(job.result.artifacts).toEqual(artifacts.slice(0, 50));
    expect(job.result.artifacts_dropped).toBe(70);
  });
});
