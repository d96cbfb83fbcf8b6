/**
 * A job's evidence as a person sees it in headless Chromium: the failing attempt's screenshot
 * inline, its video in a player, the passing attempt's log with the terminal's colours (and no
 * markup from the log), and the trace opening in the Playwright trace viewer this server serves:
 * on a server without tokens, and from the signed link a check run carries (tokens, no session).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { issueToken } from "../../app/tokens.js";
import { seedFlakyEvidence, type SeededEvidence } from "../evidence.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { launchChromium, SCREENSHOTS, screenshots } from "./chromium.js";

/** A real screenshot and a real Playwright trace of a page that says what it is. */
async function recordTrace(browser: Browser): Promise<{ screenshot: Buffer; trace: Buffer }> {
  const dir = tempDir("qgjob-trace-");
  const context = await browser.newContext();
  await context.tracing.start({ snapshots: true, screenshots: true });
  const app = await context.newPage();
  await app.setContent("<h1>Login screen</h1><button>Sign in</button>");
  await app.getByRole("button", { name: "Sign in" }).click();
  const screenshot = await app.screenshot();
  await context.tracing.stop({ path: join(dir, "trace.zip") });
  await context.close();
  return { screenshot, trace: readFileSync(join(dir, "trace.zip")) };
}

/**
 * Opens the job page at `pageUrl` in a fresh context (no cookies) and its trace link, and
 * returns the viewer once it lists the trace's click on "Sign in", fetched from `server` alone.
 */
async function openTrace(browser: Browser, server: string, pageUrl: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  const outside: string[] = [];
  page.context().on("request", (r) => {
    if (!r.url().startsWith(server) && !r.url().startsWith("data:")) outside.push(r.url());
  });
  await page.goto(pageUrl);
  const [viewer] = await Promise.all([
    page.context().waitForEvent("page"),
    page.getByRole("link", { name: "open in the trace viewer" }).click(),
  ]);
  expect(viewer.url()).toContain(`${server}/trace/index.html?trace=`);
  await viewer.getByText(/Click/).first().waitFor({ timeout: 60_000 });
  expect(await viewer.locator("body").textContent()).toContain("Sign in");
  expect(outside).toEqual([]);
  return viewer;
}

describe("the job page's evidence", () => {
  let server: TestServer;
  let browser: Browser;
  let seeded: SeededEvidence;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    // The log says <script> in red: it must show as red text, never run.
    seeded = await seedFlakyEvidence(server.url, undefined, await recordTrace(browser));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows the screenshot inline, the video player and the coloured log, attempt by attempt", async () => {
    const page = await browser.newPage();
    const url = `${server.url}/jobs/${seeded.jobId}`;
    // Counts the media the page's live refresh pulls out from under the viewer.
    await page.addInitScript(() => {
      const w = globalThis as unknown as { removedMedia: number };
      w.removedMedia = 0;
      type N = { nodeName: string; querySelector?(s: string): unknown };
      new (
        globalThis as unknown as {
          MutationObserver: new (cb: (ms: { removedNodes: N[] }[]) => void) => {
            observe(target: unknown, opts: object): void;
          };
        }
      ).MutationObserver((ms) => {
        for (const m of ms)
          for (const n of m.removedNodes)
            if (n.nodeName === "VIDEO" || n.nodeName === "IMG" || n.querySelector?.("video, img"))
              w.removedMedia++;
      }).observe((globalThis as unknown as { document: unknown }).document, {
        subtree: true,
        childList: true,
      });
    });
    // The run has ended: its event stream says so at once and the page refreshes itself once.
    const refreshed = page.waitForResponse(
      (r) => r.url() === url && r.request().resourceType() === "fetch",
    );
    await page.goto(url);
    const first = page.locator("#attempt-1");
    const img = first.locator(".media img");
    await img.waitFor();
    // Loaded and decoded: the browser knows its size.
    await expect
      .poll(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    const video = first.locator("video");
    expect(await video.getAttribute("src")).toMatch(/\/attempts\/1\/artifacts\/1\?sig=/);
    // Read in one step: text and colour of the same element.
    const red = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { querySelector(s: string): { textContent: string } | null };
        getComputedStyle(e: unknown): { color: string };
      };
      const el = g.document.querySelector("#attempt-2 pre.log .ansi-fg-1");
      return el && { text: el.textContent, color: g.getComputedStyle(el).color };
    });
    expect(red).toEqual({ text: "Error: expected 2, got 1", color: "rgb(255, 123, 114)" });
    expect(await first.textContent()).toContain("pending: not uploaded yet");
    // The refresh rendered the same links: nothing reloads, a playing video keeps playing.
    await refreshed;
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 200)));
    expect(
      await page.evaluate(() => (globalThis as unknown as { removedMedia: number }).removedMedia),
    ).toBe(0);
    await screenshots(page, "job-evidence");
  });

  it("opens the trace in the trace viewer served by this server", async () => {
    const viewer = await openTrace(browser, server.url, `${server.url}/jobs/${seeded.jobId}`);
    // Playwright's own layout, not ours: one picture, without the phone-width check.
    await viewer.screenshot({ path: join(SCREENSHOTS, "trace-viewer.png") });
  }, 90_000);

  describe("behind tokens, from the signed link a check run carries", () => {
    let guarded: TestServer;
    let signedPage: string;

    beforeAll(async () => {
      guarded = await startTestServer();
      const { token } = await issueToken(
        guarded.store,
        { orgId: "acme", scopes: ["agent", "submit", "read"], name: "ci" },
        Date.now(),
      );
      const job = await seedFlakyEvidence(guarded.url, token, await recordTrace(browser));
      const api = new QgjobClient({ baseUrl: guarded.url, token, retries: 0 });
      signedPage = guarded.url + (await api.listArtifacts(job.jobId, { share: true })).page;
    }, 120_000);
    afterAll(() => guarded?.close());

    it("opens the trace with no session, and the page without the link's token is refused", async () => {
      expect(signedPage).toMatch(/\/jobs\/job_\w+\?sig=/);
      const unsigned = await fetch(signedPage.replace(/\?sig=.*$/, ""), { redirect: "manual" });
      expect([unsigned.status, unsigned.headers.get("location")]).toEqual([303, "/login"]);
      await openTrace(browser, guarded.url, signedPage);
    }, 90_000);
  });

  it("refuses to open a trace from anywhere but this server's artifacts", async () => {
    const res = await fetch(
      `${server.url}/trace/index.html?trace=${encodeURIComponent("https://example.invalid/t.zip")}`,
    );
    expect(res.status).toBe(400);
    expect((await fetch(`${server.url}/trace/../../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/trace/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
  });
});
