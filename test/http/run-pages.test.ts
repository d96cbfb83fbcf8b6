/**
 * Bounded reads of a run over HTTP: the run view and its wait answer a page of jobs with their
 * results summarised, the typed client reads every page, the job view has the whole result, the
 * dashboard's run page pages too, and the server keeps a result's text within its caps.
 */
import { describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { RunWithJobs } from "../../api/schemas.js";
import {
  bodyOf,
  expectStatus,
  finishJob,
  registerAgent,
  serverPerSuite,
  submit,
} from "../harness.js";

const failure = {
  message: `expected the banner\n${"at line\n".repeat(200)}`,
  file: "tests/a.spec.ts",
  line: 4,
  log_tail: `${"early output\n".repeat(100)}the last line`,
  artifacts: [{ name: "shot.png", sha256: "c".repeat(64), size: 3 }],
};

describe("reading a run a page at a time", () => {
  const suite = serverPerSuite({ resultMessageMax: 300, resultLogTailMax: 400 });

  /** A run of `n` tests, every one failed with `failure`. */
  async function failedRun(n: number) {
    const { api } = suite;
    const tests = Array.from({ length: n }, (_, i) => `tests/t${i}.spec.ts`);
    const run = bodyOf(await submit(api, { org_id: "pages", tests }));
    const agent = await registerAgent(api, `pager-${run.id}`);
    for (let done = 0; done < n;) {
      const lease = await api.post(`/api/v1/agents/${agent}/lease`, {});
      expectStatus(lease, 200);
      for (const job of lease.body.jobs) {
        const res = await finishJob(api, lease.body.id, job, "failed", failure);
        expect(res.status).toBe(200);
      }
      done += lease.body.jobs.length;
    }
    return run.id;
  }

  it("answers pages of summarised jobs, and the whole result from the job view, cut to the caps", async () => {
    const { api, server } = suite;
    const id = await failedRun(5);

    const first = await api.get(`/api/v1/runs/${id}?jobs_limit=2`);
    expect(first.status).toBe(200);
    const page = RunWithJobs.parse(first.body);
    expect(page.counts).toMatchObject({ total: 5, failed: 5 });
    expect(page.jobs).toHaveLength(2);
    expect(page.jobs_next_cursor).toEqual(expect.any(String));
    expect(page.jobs[0]!.result).toEqual({
      message: "expected the banner",
      file: "tests/a.spec.ts",
      line: 4,
      artifacts: [],
      artifacts_count: 1,
      truncated: true,
    });

    // The typed client follows the pages; the wait answers the same summaries.
    const typed = new QgjobClient({ baseUrl: server.url });
    const whole = await typed.getRun(id);
    expect(whole.jobs.map((j) => j.test_path)).toEqual(
      Array.from({ length: 5 }, (_, i) => `tests/t${i}.spec.ts`),
    );
    const waited = await typed.waitRun(id, 0);
    expect(waited.jobs).toHaveLength(5);
    expect(waited.jobs[4]!.result!.truncated).toBe(true);

    // The job view: the whole result, as the server kept it (head of the message, end of the log).
    const job = await typed.getJob(whole.jobs[0]!.id);
    expect(job.result!.truncated).toBeUndefined();
    expect(job.result!.artifacts).toEqual(failure.artifacts);
    expect(job.result!.message).toHaveLength(300);
    expect(job.result!.message).toMatch(/^expected the banner\nat line\n/);
    expect(job.result!.message).toMatch(/… \[cut: \d+ more characters\]$/);
    expect(job.result!.log_tail).toHaveLength(400);
    expect(job.result!.log_tail).toMatch(/^\[cut: \d+ earlier characters\] …\n/);
    expect(job.result!.log_tail).toMatch(/the last line$/);

    const bad = await api.get(`/api/v1/runs/${id}?jobs_limit=1001`);
    expect(bad.status).toBe(400);
    const forged = await api.get(`/api/v1/runs/${id}?jobs_cursor=bm90LWFuLWlk`);
    expect(forged.status).toBe(400);
  });

  it("shows a run's page 200 jobs at a time, the next page linked", async () => {
    const { api, server } = suite;
    const tests = Array.from(
      { length: 201 },
      (_, i) => `tests/p${String(i).padStart(3, "0")}.spec.ts`,
    );
    const id = bodyOf(await submit(api, { org_id: "pages", tests })).id;
    const first = await fetch(`${server.url}/runs/${id}`);
    const html = await first.text();
    // Test paths are set in a box per segment (they wrap at a slash): read the page's text.
    const text = (page: string) => page.replace(/<[^>]*>/g, "");
    expect(text(html)).toContain("tests/p199.spec.ts");
    expect(text(html)).not.toContain("tests/p200.spec.ts");
    const next = /href="(\/runs\/[^"]+\?cursor=[^"]+)" rel="next"/.exec(html);
    expect(next).not.toBeNull();
    const second = await (await fetch(server.url + next![1]!.replace(/&amp;/g, "&"))).text();
    expect(text(second)).toContain("tests/p200.spec.ts");
    expect(text(second)).not.toContain("tests/p199.spec.ts");
    expect(second).not.toContain('rel="next"');
    expect(second).toContain(`href="/runs/${id}"`);
  });
});
