import { describe, expect, it } from "vitest";
import type { Agent } from "../../../api/schemas.js";
import { failed, fakeJob, fakeRun, passed } from "../../../api/testing.js";
import { agentsPage, currentJob } from "./agents-page.js";
import type { Viewer } from "./layout.js";
import { nextLeaseItem } from "./queue-page.js";
import { failurePlace, runPage } from "./run-page.js";
import { runsPage, sourceText } from "./runs-page.js";

const submitter: Viewer = { orgId: "qualgent", signedIn: true, canSubmit: true };
const reader: Viewer = { ...submitter, canSubmit: false };
const NOW = Date.parse("2025-01-01T00:01:00.000Z");

const counts = (over: Partial<ReturnType<typeof fakeRun>["counts"]>) => ({
  ...fakeRun([]).counts,
  ...over,
});

describe("run page", () => {
  it("shows each failure with its file and line, and flaky passes as text", () => {
    const run = fakeRun([
      failed("tests/a.spec.ts", "expected 1 to be 2", 6),
      passed("tests/b.spec.ts", { flaky: true, attempts: 2 }),
    ]);
    const page = runPage({ viewer: reader, run, now: NOW }).text;
    expect(page).toContain('<code class="place">tests/a.spec.ts:6</code>');
    expect(page).toContain("expected 1 to be 2");
    expect(page).toMatch(/passed<\/span\s*>\s*<span class="tag flaky">flaky<\/span>/);
    expect(page).toContain("2 tries (1 retry)");
  });

  it("names the file alone when the runner gave no line, and nothing for a pass", () => {
    const job = failed("tests/a.spec.ts", "boom");
    expect(failurePlace({ ...job, result: { ...job.result!, line: null } })).toBe(
      "tests/a.spec.ts",
    );
    expect(failurePlace(passed("tests/b.spec.ts"))).toBeNull();
  });

  it("offers cancel while jobs are open and re-run once failures are final, only to submitters", () => {
    const open = fakeRun([fakeJob()], { counts: counts({ total: 1, queued: 1 }) });
    const done = fakeRun([failed("tests/a.spec.ts", "x")], {
      status: "failed",
      counts: counts({ total: 1, failed: 1 }),
    });
    const green = fakeRun([passed("tests/a.spec.ts")], {
      status: "passed",
      counts: counts({ total: 1, passed: 1 }),
    });
    const page = (run: typeof open, viewer: Viewer) => runPage({ viewer, run, now: NOW }).text;
    expect(page(open, submitter)).toContain(`action="/runs/${open.id}/cancel"`);
    expect(page(open, submitter)).not.toContain("rerun-failed");
    expect(page(done, submitter)).toContain(`action="/runs/${done.id}/rerun-failed"`);
    expect(page(done, submitter)).not.toContain("/cancel");
    expect(page(green, submitter)).not.toContain('<form method="post" action="/runs/');
    expect(page(open, reader)).not.toContain("/cancel");
    expect(page(done, reader)).not.toContain("rerun-failed");
  });
});

describe("runs page", () => {
  it("says where a run came from: a push with its repo, commit and ref", () => {
    const run = fakeRun([], {
      source: "github",
      repo: "acme/app",
      sha: "0123456789abcdef",
      ref: "refs/heads/main",
    });
    expect(sourceText(run)).toBe("github · acme/app 0123456 refs/heads/main");
    expect(sourceText(fakeRun([]))).toBe("cli");
  });

  it("fixes the org filter for an org's token and keeps the chosen filters", () => {
    const page = runsPage({
      viewer: reader,
      filters: { status: "failed", app_version_id: 'v"1' },
      runs: [],
      olderHref: null,
      now: NOW,
    }).text;
    expect(page).toContain('<input value="qualgent" disabled');
    expect(page).toMatch(/<option value="failed"\s*selected>/);
    expect(page).toContain('value="v&quot;1"');
    expect(page).toContain("No runs match.");
  });
});

describe("queue page", () => {
  it("says what the next agent gets and why, or that it gets nothing", () => {
    const decided = nextLeaseItem({
      target: "emulator",
      agent: { id: "agt_1", name: "pixel-1" },
      decision: {
        groupKey: "qualgent|v1|emulator",
        orgId: "qualgent",
        appVersionId: "v1",
        target: "emulator",
        jobIds: ["job_a", "job_b"],
        expectedMs: 120_000,
        install: false,
        reason: "affinity",
      },
    }).text.replace(/\s+/g, " ");
    expect(decided).toContain("Idle agent pixel-1 gets <strong>2 jobs</strong>");
    expect(decided).toContain("app version <strong>v1</strong> (about 2m 00s of work, no install)");
    expect(decided).toContain("already has this app version installed");
    const idle = nextLeaseItem({ target: "device", agent: null, decision: null }).text;
    expect(idle.replace(/\s+/g, " ")).toContain(
      "A new agent (none is idle, nothing installed) gets nothing",
    );
  });
});

describe("agents page", () => {
  const agent: Agent = {
    id: "agt_01JD8ZK3V4QH6T2X0M9B5C7R1E",
    name: "pixel-1",
    org_id: null,
    target: "emulator",
    device: "Pixel_7",
    labels: [],
    installed: ["v2", "v1"],
    state: "busy",
    lease_id: "lse_01JD8ZK3V4QH6T2X0M9B5C7R1E",
    registered_at: "2025-01-01T00:00:00.000Z",
    last_seen_at: "2025-01-01T00:00:50.000Z",
  };

  it("shows the running job of the agent's lease before the ones still waiting in it", () => {
    const lease = agent.lease_id;
    const waiting = fakeJob({ lease_id: lease, status: "leased", test_path: "tests/w.spec.ts" });
    const running = fakeJob({ lease_id: lease, status: "running", test_path: "tests/r.spec.ts" });
    const other = fakeJob({ lease_id: "lse_other", status: "running" });
    expect(currentJob(agent, [waiting, running, other])).toBe(running);
    expect(currentJob({ ...agent, lease_id: null }, [running])).toBeNull();

    const page = agentsPage({
      viewer: reader,
      agents: [agent],
      leaseJobs: [waiting, running],
      now: NOW,
    }).text.replace(/\s+/g, " ");
    expect(page).toContain("busy");
    expect(page).toContain("v2, v1");
    expect(page.replace(/<[^>]+>/g, "")).toContain("tests/r.spec.ts");
    expect(page).toContain("(2 open in this lease)");
    expect(page).toContain("10.0s ago");
  });
});
