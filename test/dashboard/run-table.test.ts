/**
 * A run's jobs as people read them, in Debian's Chromium at 1366 px and on a phone: test paths
 * wrap only after a `/`, each job names its id and its agent, tries read "2 tries (1 retry)", a
 * re-run job carries the jobs it superseded; and an agent still killing a cancelled test is busy.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
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
import { launchChromium, SCREENSHOTS } from "./chromium.js";

const SHORT = "tests/checkout/payment/refund.spec.ts";
const LONG = "tests/checkout/payment/refunds/partial/after-cancel/with-coupon.spec.ts";
/** A failure whose first line is long: the column that pressed the test column to 4 characters. */
const MESSAGE =
  'Error: expect(received).toBe(expected) // Object.is equality: Expected: "Your refund of 12.00 EUR is on its way to the card ending 4242" Received: "Something went wrong while contacting the payment service, please try again later"\n\n  at tests/checkout/payment/refund.spec.ts:14:5';

let server: TestServer;
let api: Client;
let browser: Browser;
let runId: string;

/** The text of each line box the element's text is laid out in, top to bottom. */
function lines(page: Page, selector: string): Promise<string[]> {
  return page
    .locator(selector)
    .first()
    .evaluate((el) => {
      const doc = el.ownerDocument;
      const walker = doc.createTreeWalker(el, 4 /* NodeFilter.SHOW_TEXT */);
      const range = doc.createRange();
      const rows: { top: number; text: string }[] = [];
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? "";
        for (let i = 0; i < text.length; i++) {
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (!rect) continue;
          const row = rows.find((r) => Math.abs(r.top - rect.top) < 3);
          if (row) row.text += text[i];
          else rows.push({ top: rect.top, text: text[i]! });
        }
      }
      return rows.sort((a, b) => a.top - b.top).map((r) => r.text);
    });
}

/** The agent's next lease, taken at once: the tests queue its work first. */
async function leaseOf(agent: string) {
  const res = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 0 });
  expectStatus(res, 200);
  return res.body;
}

beforeAll(async () => {
  server = await startTestServer();
  api = client(server.url);
  const run = bodyOf(
    await submit(api, { org_id: "acme", app_version_id: "v1", tests: [SHORT, LONG], retries: 1 }),
  );
  runId = run.id;
  const agent = await registerAgent(api, "pixel-7-lab-2", { installed: ["v1"] });
  const lease = await leaseOf(agent);
  for (const job of lease.jobs) {
    // Both fail once; the short one passes on its retry (flaky), the long one fails again.
    await finishJob(api, lease.id, { id: job.id, attempt: 1 }, "failed", { message: MESSAGE });
    const second = job.test_path === SHORT ? "passed" : "failed";
    await finishJob(api, lease.id, { id: job.id, attempt: 2 }, second, { message: MESSAGE });
  }
  // The long one is re-run, and fails again on another lease: one earlier run under it.
  expect((await api.post(`/api/v1/runs/${runId}/rerun-failed`, {})).status).toBe(200);
  const again = await leaseOf(agent);
  const rerun = again.jobs[0]!;
  await finishJob(api, again.id, { id: rerun.id, attempt: 1 }, "failed", {
    message: MESSAGE,
  });
  await finishJob(api, again.id, { id: rerun.id, attempt: 2 }, "failed", {
    message: MESSAGE,
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("a run's job table", () => {
  it("wraps test paths at a slash only: one line at 1366 px when it fits, whole segments on a phone", async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${server.url}/runs/${runId}`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "run-table-1366.png"), fullPage: true });
    const short = `#run-jobs tr:has-text("${SHORT}") td[data-label=Test] code`;
    const long = `#run-jobs tr:has-text("${LONG}") td[data-label=Test] code`;
    expect(await lines(page, short)).toEqual([SHORT]);
    const wide = await lines(page, long);
    expect(wide.join("")).toBe(LONG);
    expect(wide.length).toBeLessThanOrEqual(2);
    for (const line of wide.slice(0, -1)) expect(line).toMatch(/\/$/);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, "run-table-phone.png"), fullPage: true });
    const phone = await lines(page, long);
    expect(phone.join("")).toBe(LONG);
    expect(phone.length).toBeGreaterThan(1);
    expect(phone.length).toBeLessThanOrEqual(LONG.split("/").length);
    for (const line of phone.slice(0, -1)) expect(line).toMatch(/\/$/);
    const width = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
          .document.documentElement.scrollWidth,
    );
    expect(width).toBeLessThanOrEqual(390);
    await page.close();
  }, 120_000);

  it("names each job's id and agent, counts tries as tries and retries, and keeps a re-run's history", async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${server.url}/runs/${runId}`);
    const jobs = bodyOf(await api.get(`/api/v1/jobs?run_id=${runId}`)).items;
    const current = jobs.find((j) => j.test_path === LONG && j.superseded_by === null)!;
    const superseded = jobs.find((j) => j.test_path === LONG && j.superseded_by !== null)!;
    const row = page.locator(`#job-${current.id}`);
    const text = (await row.innerText()).replace(/\s+/g, " ");
    expect(text).toContain(current.id);
    expect(text).toContain("pixel-7-lab-2");
    expect(text).toContain("2 tries (1 retry)");
    expect(text).toContain("1 earlier run of this test");
    // The superseded job is there, collapsed: opened, it shows its id and how it ended.
    const history = row.locator("details.history");
    expect(await history.locator("li").isVisible()).toBe(false);
    await history.locator("summary").click();
    expect((await history.locator("li").innerText()).replace(/\s+/g, " ")).toMatch(
      new RegExp(`failed ${superseded.id} · 2 tries \\(1 retry\\) · pixel-7-lab-2`),
    );
    await page.close();
  }, 120_000);
});

describe("the agents page", () => {
  it("shows an agent busy while it stops a cancelled test, idle once it released the lease", async () => {
    const run = bodyOf(
      await submit(api, { org_id: "acme", app_version_id: "v2", tests: ["slow.spec.ts"] }),
    );
    const agent = await registerAgent(api, "pixel-8", { installed: ["v2"] });
    const lease = await leaseOf(agent);
    await api.post(`/api/v1/leases/${lease.id}/jobs/${lease.jobs[0]!.id}/start`, { attempt: 1 });
    await api.post(`/api/v1/runs/${run.id}/cancel`, {});
    const stateOf = async () => {
      const html = await (await fetch(`${server.url}/agents`)).text();
      const row = html.slice(html.indexOf("pixel-8"));
      return /s-(busy|idle|lost)/.exec(row)?.[1];
    };
    expect(await stateOf()).toBe("busy");
    await api.post(`/api/v1/leases/${lease.id}/release`, {});
    expect(await stateOf()).toBe("idle");
  });
});
