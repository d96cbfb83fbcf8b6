/**
 * `qgjob tests` and quarantines as real processes against a real server, the test playing the
 * agent over HTTP: a quarantined failure leaves `qgjob wait` at exit 0 and lists it apart.
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
import { runCli } from "./cli-process.js";

const suite = serverPerSuite();
const qgjob = (args: string[]) => runCli(args, { QGJOB_URL: suite.server.url });

/** One run of these tests, each ended as given; answers the run id. */
async function runOnce(agent: string, outcomes: Record<string, "passed" | "failed">) {
  const { api } = suite;
  const tests = Object.keys(outcomes);
  const run = await submit(api, { org_id: "cli", tests, max_attempts: 1 });
  for (let left = tests.length; left > 0;) {
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 1 });
    expectStatus(lease, 200);
    for (const job of lease.body.jobs) {
      await finishJob(api, lease.body.id, job, outcomes[job.test_path]!, {
        ...(outcomes[job.test_path] === "failed" ? { message: "expected #home" } : {}),
      });
      left--;
    }
  }
  return bodyOf(run).id;
}

describe("qgjob tests", () => {
  it("quarantines a test: its failure leaves qgjob wait at exit 0, listed as quarantined", async () => {
    const agent = await registerAgent(suite.api, "cli-pixel");
    const put = await qgjob([
      ...["tests", "quarantine", "tests/home.spec.js"],
      ...["--reason", "home screen race", "--expires", "14d", "--org-id", "cli"],
    ]);
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/^quarantined tests\/home.spec.js in cli until \d{4}-/);

    const runId = await runOnce(agent, {
      "tests/home.spec.js": "failed",
      "tests/login.spec.js": "passed",
    });
    const wait = await qgjob(["wait", "--run-id", runId, "--timeout", "5s"]);
    expect(wait.code).toBe(0);
    expect(wait.stdout).toContain("1 quarantined");
    expect(wait.stdout).toMatch(
      /Quarantined, failing no run \(1\):\n {2}○ tests\/home\.spec\.js quarantined: failed \(until \d{4}-\d\d-\d\d\)/,
    );
    expect(wait.stdout).not.toContain("Failures");

    const list = await qgjob(["tests", "--org-id", "cli", "--sort", "failure_rate"]);
    expect(list.code).toBe(0);
    const [header, first, second] = list.stdout.trim().split("\n");
    expect(header).toMatch(/^TEST\s+TARGET\s+RUNS\s+FLAKY\s+FAILING/);
    expect(first).toMatch(/^tests\/home\.spec\.js\s+emulator\s+1\s+0%\s+100%.*✗\s+until \d{4}-/);
    expect(second).toMatch(/^tests\/login\.spec\.js\s+emulator\s+1\s+0%\s+0%/);

    const json = JSON.parse((await qgjob(["tests", "--org-id", "cli", "--json"])).stdout);
    expect(json.items).toHaveLength(2);

    const end = await qgjob(["tests", "unquarantine", "tests/home.spec.js", "--org-id", "cli"]);
    expect(end.code).toBe(0);
    const again = await runOnce(agent, { "tests/home.spec.js": "failed" });
    expect((await qgjob(["wait", "--run-id", again, "--timeout", "5s"])).code).toBe(1);
  });

  it("refuses bad input in one line with exit code 2", async () => {
    for (const args of [
      ["tests", "quarantine", "a.spec.js", "--reason", "r", "--expires", "soon"],
      ["tests", "quarantine", "a.spec.js", "--reason", "r", "--expires", "120d"],
      ["tests", "quarantine", "a.spec.js"],
      ["tests", "--sort", "slowness"],
      ["tests", "unquarantine", "never.spec.js", "--org-id", "cli"],
      ["tests", "quarantine", "../a.spec.js", "--reason", "r", "--org-id", "cli"],
    ]) {
      const out = await qgjob(args);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
      expect(out.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
