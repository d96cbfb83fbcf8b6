/**
 * The dashboard's live regions in headless Chromium, on a real server: the run page follows its
 * run's event stream and fetches itself only as the stream opens and when something changed (no
 * 2 s refetch while nothing happens), falls back to polling in a browser without EventSource, and the job page
 * shows a running test's output as the agent posts it.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { launchChromium } from "./chromium.js";

let server: TestServer;
let api: Client;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  api = client(server.url);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function leasedRun(name: string) {
  const run = bodyOf(await submit(api, { app_version_id: `live-${name}`, tests: ["a.spec.ts"] }));
  const agent = await registerAgent(api, name);
  return {
    runId: run.id,
    lease: async () => {
      const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(lease, 200);
      return { leaseId: lease.body.id, job: lease.body.jobs[0]! };
    },
  };
}

/** Counts the page's fetches of its own URL (the live script's refreshes). */
function countRefetches(page: Page, path: string) {
  const seen = { n: 0 };
  page.on("request", (r) => {
    if (r.resourceType() === "fetch" && new URL(r.url()).pathname === path) seen.n++;
  });
  return seen;
}

const row = (page: Page) => page.locator("#run-jobs tbody tr").first();

describe("live regions", () => {
  it("follow the run's events: rows change without a 2 s refetch", async () => {
    const { runId, lease } = await leasedRun("sse");
    const page = await browser.newPage();
    const refetches = countRefetches(page, `/runs/${runId}`);
    await page.goto(`${server.url}/runs/${runId}`);
    await row(page).filter({ hasText: "queued" }).waitFor();
    // Nothing changes for 5 s: one fetch as the stream opened (a change may have come between
    // the render and the stream), where polling would have fetched the page twice more.
    await page.waitForTimeout(5000);
    expect(refetches.n).toBe(1);

    const { leaseId, job } = await lease();
    await api.post(`/api/v1/leases/${leaseId}/jobs/${job.id}/start`, { attempt: job.attempt });
    await row(page).filter({ hasText: "running" }).waitFor({ timeout: 15_000 });
    await finishJob(api, leaseId, job, "passed");
    await page.locator("#run-summary").filter({ hasText: "passed" }).waitFor({ timeout: 15_000 });
    expect(refetches.n).toBeGreaterThan(0);
    const afterEnd = refetches.n;
    // The run ended and its stream closed: the page is quiet again.
    await page.waitForTimeout(3000);
    expect(refetches.n).toBe(afterEnd);
    await page.close();
  }, 60_000);

  it("fall back to polling in a browser without EventSource", async () => {
    const { runId, lease } = await leasedRun("poll");
    const page = await browser.newPage();
    await page.addInitScript(() => {
      delete (globalThis as { EventSource?: unknown }).EventSource;
    });
    await page.goto(`${server.url}/runs/${runId}`);
    const { leaseId, job } = await lease();
    await finishJob(api, leaseId, job, "failed");
    await row(page).filter({ hasText: "failed" }).waitFor({ timeout: 15_000 });
    await page.close();
  }, 60_000);

  it("show a running test's output on its job page as it comes", async () => {
    const { lease } = await leasedRun("log");
    const { leaseId, job } = await lease();
    await api.post(`/api/v1/leases/${leaseId}/jobs/${job.id}/start`, { attempt: job.attempt });
    const page = await browser.newPage();
    await page.goto(`${server.url}/jobs/${job.id}`);
    const log = page.locator("pre.live-log");
    await log.waitFor();
    for (const [seq, line] of ["tapping <Login>\n", "typing password\n"].entries()) {
      await api.post(`/api/v1/leases/${leaseId}/jobs/${job.id}/log`, {
        attempt: job.attempt,
        dropped_bytes: 0,
        chunks: [{ seq, data: Buffer.from(line).toString("base64") }],
      });
      await log.filter({ hasText: line.trim() }).waitFor({ timeout: 15_000 });
    }
    expect(await log.textContent()).toBe("tapping <Login>\ntyping password\n");
    await finishJob(api, leaseId, job, "passed");
    await page.locator("#job-status").filter({ hasText: "passed" }).waitFor({ timeout: 15_000 });
    await page.close();
  }, 60_000);
});
