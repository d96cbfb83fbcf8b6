/**
 * The dashboard's Tests page and a test's page over plain HTTP against a real server: the
 * sparkline is server-rendered SVG with one bar per outcome, and a quarantine set from the test's
 * page is the API's quarantine.
 */
import { describe, expect, it } from "vitest";
import {
  bodyOf,
  expectStatus,
  finishJob,
  registerAgent,
  serverPerSuite,
  submit,
} from "../harness.js";

const text = (html: string) => html.replace(/<[^>]+>/g, "").replace(/\s+/g, " ");

const suite = serverPerSuite();

async function page(path: string, init: RequestInit = {}) {
  const res = await fetch(suite.server.url + path, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: suite.server.url },
  body: new URLSearchParams(fields).toString(),
});

async function runOnce(agent: string, test: string, status: "passed" | "failed") {
  await submit(suite.api, { org_id: "pages", tests: [test], max_attempts: 1 });
  const lease = await suite.api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 1 });
  expectStatus(lease, 200);
  await finishJob(suite.api, lease.body.id, lease.body.jobs[0]!, status, {
    ...(status === "failed" ? { message: "expected <Login> button" } : {}),
  });
}

describe("the Tests pages", () => {
  it("list tests with a sparkline of their outcomes; a test's page shows its runs and quarantines it", async () => {
    const agent = await registerAgent(suite.api, "pages-pixel");
    for (const status of ["passed", "failed", "passed"] as const) {
      await runOnce(agent, "tests/login.spec.ts", status);
    }
    await runOnce(agent, "tests/home.spec.ts", "passed");

    const list = await page("/tests?sort=failure_rate&org_id=pages");
    expect(list.status).toBe(200);
    expect(list.headers.get("content-security-policy")).toContain("script-src 'self'");
    const rows = list.body.split("<tr>").slice(2);
    expect(rows).toHaveLength(2);
    expect(text(rows[0]!)).toMatch(/tests\/login\.spec\.ts emulator 3 0% 33%/);
    // One bar per outcome, oldest first; a failure stands tallest.
    const bars = [...rows[0]!.matchAll(/<rect\s+class="o-(\w+)"[^>]*height="(\d+)"/g)].map(
      (m) => `${m[1]}:${m[2]}`,
    );
    expect(bars).toEqual(["passed:5", "failed:16", "passed:5"]);
    expect(rows[0]).toContain('aria-label="last 3 runs, oldest first: 2 passed, 1 failed"');

    const href = /href="(\/tests\/tst_\w+)"/.exec(rows[0]!)![1]!;
    const detail = await page(href);
    expect(detail.status).toBe(200);
    const body = text(detail.body);
    expect(body).toContain("Not quarantined");
    // The failure's message, escaped, among the last failures.
    expect(detail.body).toContain("expected &lt;Login&gt; button");

    const put = await page(`${href}/quarantine`, form({ reason: "login race", days: "7" }));
    expect(put.status).toBe(303);
    const [q] = bodyOf(await suite.api.get("/api/v1/quarantines")).items;
    expect(q).toMatchObject({ org_id: "pages", test_path: "tests/login.spec.ts" });
    expect(Date.parse(q!.expires_at) - Date.parse(q!.created_at)).toBe(7 * 86_400_000);
    expect(text((await page(href)).body)).toContain("quarantined until");
    expect(text((await page("/tests?quarantined=true")).body)).toContain("tests/login.spec.ts");

    const bad = await page(`${href}/quarantine`, form({ reason: "", days: "7" }));
    expect(bad.status).toBe(400);
    const ended = await page(`${href}/quarantine/end`, form({}));
    expect(ended.status).toBe(303);
    expect(bodyOf(await suite.api.get("/api/v1/quarantines")).items).toEqual([]);
  });

  it("answers a bad filter or a missing test with a page that says so", async () => {
    const bad = await page("/tests?sort=sideways");
    expect(bad.status).toBe(400);
    expect(text(bad.body)).toContain("Bad filter sort:");
    expect((await page("/tests/tst_01JD0000000000000000000000")).status).toBe(404);
    const foreign = await page("/tests/tst_01JD0000000000000000000000/quarantine", {
      ...form({ reason: "x", days: "1" }),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "http://evil.example",
      },
    });
    expect(foreign.status).toBe(403);
  });
});
