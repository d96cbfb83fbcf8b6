/**
 * The dashboard as a person uses it: headless Chromium on pages of a real `qgjob server`, with
 * runs submitted by the `qgjob` CLI and executed by real `qgjob agent` processes (the AppWright
 * runner on the example project, and the command runner for a long shell test).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_DIR, installExamples, stubAndroid, type StubAndroid } from "../appwright-env.js";
import { killAll, qgjob, spawnQgjob, spawnServer } from "../processes.js";
import { launchChromium, screenshots } from "./chromium.js";

let url: string;
let dir: string;
let db: string;
let android: StubAndroid;
let browser: Browser;
/** The first test's run, of org qualgent: another org's token must not see it. */
let qualgentRunId: string;

async function submit(...args: string[]): Promise<{ id: string }> {
  const res = await qgjob(["submit", "--url", url, "--json", ...args]);
  if (res.code !== 0) throw new Error(`submit failed: ${res.output}`);
  return JSON.parse(res.output.slice(res.output.indexOf("{")));
}

function startAgent(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnQgjob(["agent", "--url", url, "--name", name, "--lease-wait", "2s", ...args], env);
}

/** The row of a job in the run page's table, by its test path. */
const jobRow = (page: Page, testPath: string) =>
  page.locator("#run-jobs tbody tr", { hasText: testPath });

/** Text as a person reads it: runs of whitespace are one space. */
const text = (content: string | null) => (content ?? "").replace(/\s+/g, " ");

/** Waits until the locator's text contains `text`, without reloading the page. */
async function untilText(locator: ReturnType<Page["locator"]>, text: string, ms = 120_000) {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: ms });
}

/** Waits until the run's (only) job has `status`, as the API answers. */
async function untilJobStatus(runId: string, status: string, ms = 60_000) {
  for (const until = Date.now() + ms; Date.now() < until;) {
    const res = await fetch(`${url}/api/v1/runs/${runId}`);
    const body = (await res.json()) as { jobs: { status: string }[] };
    if (body.jobs[0]?.status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`run ${runId}'s job never became ${status}`);
}

/** Presses Tab from the top of the page until the focused element's markup contains `fragment`. */
async function tabTo(page: Page, fragment: string) {
  const focusedHtml = () =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { outerHTML: string } } }).document
          .activeElement.outerHTML,
    );
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if ((await focusedHtml()).includes(fragment)) return;
  }
  throw new Error(`Tab never reached ${fragment}`);
}

beforeAll(async () => {
  installExamples();
  android = stubAndroid();
  dir = mkdtempSync(join(tmpdir(), "qgjob-dashboard-"));
  db = join(dir, "qgjob.db");
  writeFileSync(join(dir, "long.sh"), `"${process.execPath}" -e "setTimeout(() => {}, 60000)"\n`);
  url = (await spawnServer(["--db", db])).url;
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  killAll();
  android?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("open mode on loopback", () => {
  it("shows a CLI run's jobs move from queued to passed and failed as a real agent runs them, without a reload, with the failure's file and line", async () => {
    const run = await submit(
      "--org-id=qualgent",
      "--app-version-id=demo-1",
      "--test=tests/passing.spec.ts",
      "--test=tests/failing.spec.ts",
    );
    qualgentRunId = run.id;
    const page = await browser.newPage();
    await page.goto(url + "/");
    await page.getByRole("link", { name: run.id }).click();
    await page.waitForURL(`${url}/runs/${run.id}`);
    expect(await jobRow(page, "tests/passing.spec.ts").textContent()).toContain("queued");
    expect(await jobRow(page, "tests/failing.spec.ts").textContent()).toContain("queued");
    await page.evaluate(
      () => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true),
    );

    startAgent(
      "aw-1",
      ["--target", "emulator", "--runner", "appwright", "--project", "android-emu"].concat([
        "--project-dir",
        EXAMPLE_DIR,
        "--build",
        android.apk,
      ]),
      android.env,
    );
    await untilText(jobRow(page, "tests/passing.spec.ts"), "passed");
    await untilText(jobRow(page, "tests/failing.spec.ts"), "failed");
    await untilText(page.locator("#run-summary"), "failed", 10_000);

    expect(await jobRow(page, "tests/failing.spec.ts").textContent()).toContain(
      "tests/failing.spec.ts:6",
    );
    // Still the same document: the rows changed in place.
    expect(
      await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);
    await screenshots(page, "run");

    await page.goto(url + "/");
    expect(await page.locator("#runs").textContent()).toContain("1 passed · 1 failed");
    await screenshots(page, "runs");
    await page.close();
  }, 180_000);

  it("re-runs the failed test from the run page, by keyboard alone", async () => {
    const page = await browser.newPage();
    await page.goto(url + "/");
    await tabTo(page, `href="/runs/${qualgentRunId}"`);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${url}/runs/${qualgentRunId}`);

    await tabTo(page, "Re-run failed");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${url}/runs/${qualgentRunId}`);
    const rerun = jobRow(page, "tests/failing.spec.ts");
    expect(await rerun.textContent()).toContain("re-run");
    // Its own status: the row also lists the earlier, failed job it superseded.
    await untilText(rerun.locator('td[data-label="Status"]'), "failed");
    expect(await rerun.locator("details.history").textContent()).toContain("1 earlier run");
    expect(await rerun.textContent()).toContain("tests/failing.spec.ts:6");
    expect(await jobRow(page, "tests/passing.spec.ts").textContent()).toContain("passed");
    expect(await page.locator("#run-jobs tbody tr").count()).toBe(2);
    await page.close();
  }, 180_000);

  it("shows a job that started while its page was opening, then cancels the run from that page, and the agents page shows the busy agent's job", async () => {
    const run = await submit(
      "--org-id=qualgent",
      "--app-version-id=cancel-1",
      "--target=device",
      "--test=long.sh",
    );
    const page = await browser.newPage();
    // The page's event stream is held until the job runs: the change lands between the page's
    // render and its stream's first event, and must still reach the page.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(`**/runs/${run.id}/events`, async (route) => {
      await released;
      await route.continue();
    });
    await page.goto(`${url}/runs/${run.id}`);
    expect(await jobRow(page, "long.sh").textContent()).toContain("queued");
    startAgent(
      "sh-1",
      ["--target", "device", "--runner", "command", "--command", "sh {test}"].concat([
        "--project-dir",
        dir,
      ]),
    );
    await untilJobStatus(run.id, "running");
    release();
    await untilText(jobRow(page, "long.sh"), "running", 10_000);

    await page.goto(`${url}/agents`);
    const agent = page.locator("#agents tbody tr", { hasText: "sh-1" });
    expect(await agent.textContent()).toMatch(/busy[\s\S]*running[\s\S]*long\.sh/);
    await screenshots(page, "agents");

    await page.goto(`${url}/runs/${run.id}`);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.waitForURL(`${url}/runs/${run.id}`);
    expect(await page.locator("#run-summary").textContent()).toContain("cancelled");
    expect(await jobRow(page, "long.sh").textContent()).toContain("cancelled");
    const status = await qgjob(["status", "--url", url, `--run-id=${run.id}`, "--json"]);
    expect(JSON.parse(status.output.slice(status.output.indexOf("{"))).status).toBe("cancelled");
    await page.close();
  }, 120_000);

  it("renders a test path containing <script> as text, and the queue shows its group and who gets it next", async () => {
    const path = "tests/<script>window.injected=1</script>.spec.ts";
    const run = await submit(
      "--org-id=qualgent",
      "--app-version-id=xss-1",
      "--target=browserstack",
      `--test=${path}`,
    );
    const page = await browser.newPage();
    await page.goto(`${url}/runs/${run.id}`);
    expect(await jobRow(page, "spec.ts").locator("code").first().textContent()).toBe(path);
    expect(
      await page.evaluate(() => (globalThis as unknown as { injected?: number }).injected),
    ).toBeUndefined();
    expect(await page.locator("script").count()).toBe(1);

    await page.goto(`${url}/queue`);
    const group = page.locator("#queue-groups tbody tr", { hasText: "xss-1" });
    expect(await group.textContent()).toMatch(/browserstack[\s\S]*qualgent[\s\S]*xss-1/);
    expect(text(await page.locator("#queue-next").textContent())).toMatch(
      /browserstack: A new agent \(none is idle, nothing installed\) gets 1 job of org qualgent, app version xss-1/,
    );
    await screenshots(page, "queue");
    await page.close();
  });
});

describe("with tokens", () => {
  let otherToken: string;
  let readToken: string;
  let otherRunId: string;

  const token = async (...args: string[]) => {
    const res = await qgjob(["token", "create", "--db", db, ...args]);
    if (res.code !== 0) throw new Error(res.output);
    return /qgj_[\w-]+/.exec(res.output)![0];
  };

  async function signIn(secret: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url + "/");
    await page.waitForURL(`${url}/login`);
    await page.getByLabel("API token").fill(secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${url}/`);
    return page;
  }

  beforeAll(async () => {
    otherToken = await token("--org", "other", "--scope", "read,submit");
    readToken = await token("--org", "other", "--scope", "read");
    const res = await qgjob(
      ["submit", "--url", url, "--token", otherToken, "--json"].concat([
        "--org-id=other",
        "--app-version-id=o-1",
        "--test=tests/o.spec.ts",
      ]),
    );
    otherRunId = JSON.parse(res.output.slice(res.output.indexOf("{"))).id;
  });

  it("asks for a token, keeps it in an HttpOnly SameSite=Strict cookie, and never shows it", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url + "/queue");
    await page.waitForURL(`${url}/login`);
    await screenshots(page, "login");
    await page.getByLabel("API token").fill("qgj_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("unknown");

    const signedIn = await signIn(otherToken);
    const [cookie] = await signedIn.context().cookies();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(await signedIn.content()).not.toContain(otherToken);
    expect(signedIn.url()).not.toContain(otherToken);
  });

  it("shows an org token its org's runs and not another org's, on every page", async () => {
    const page = await signIn(otherToken);
    const runs = await page.locator("#runs").textContent();
    expect(runs).toContain(otherRunId);
    expect(runs).not.toContain(qualgentRunId);
    expect(runs).not.toContain("qualgent");

    const res = await page.goto(`${url}/runs/${qualgentRunId}`);
    expect(res?.status()).toBe(404);
    expect(await page.locator("main").textContent()).toContain("There is no such run.");

    await page.goto(`${url}/queue`);
    expect(await page.locator("main").textContent()).not.toContain("qualgent");
    await page.goto(`${url}/agents`);
    expect(await page.locator("main").textContent()).not.toContain("aw-1");

    await page.goto(`${url}/runs/${otherRunId}`);
    expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(1);
  });

  it("offers no cancel button to a read-only token, and refuses its POST", async () => {
    const page = await signIn(readToken);
    await page.goto(`${url}/runs/${otherRunId}`);
    expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(0);
    const res = await page.request.post(`${url}/runs/${otherRunId}/cancel`, {
      headers: { origin: url },
    });
    expect(res.status()).toBe(403);
    await page.reload();
    // Still open (an agent of the open-mode phase may have leased it meanwhile), not cancelled.
    expect(await page.locator("#run-summary").textContent()).toMatch(/queued|running/);
    expect(await page.locator("#run-summary").textContent()).not.toContain("cancelled");
  });
});
