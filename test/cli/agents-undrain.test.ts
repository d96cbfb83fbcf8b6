/**
 * `qgjob agents undrain` as a real process against a real server that drains an agent after one
 * infrastructure error: the list, the dashboard's Agents page and /metrics show it drained (the
 * page with the error that did it), undrain gives it work again, bad input exits 2.
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

const suite = serverPerSuite({ drainErrors: 1 });
const qgjob = (args: string[]) => runCli(args, { QGJOB_URL: suite.server.url });

describe("qgjob agents undrain", () => {
  it("lists a drained agent as drained and undrains it", async () => {
    const { api } = suite;
    const agent = await registerAgent(api, "cli-drained");
    await submit(api, { org_id: "cli", tests: ["a.spec.js"], max_attempts: 1 });
    const lease = await api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 1 });
    expectStatus(lease, 200);
    await finishJob(api, lease.body.id, lease.body.jobs[0]!, "error", {
      message: "install failed",
    });

    const dashboard = bodyOf(await api.get("/agents"));
    expect(dashboard).toContain("drained</span");
    expect(dashboard).toContain("install failed");
    expect(dashboard).toContain(`qgjob agents undrain ${agent}`);
    expect((await api.get("/metrics")).body).toContain('qgjob_agents_drained{target="emulator"} 1');

    const listed = await qgjob(["agents"]);
    expect(listed.stdout).toMatch(new RegExp(`${agent}\\s+cli-drained\\s+drained\\s`));

    const undrained = await qgjob(["agents", "undrain", agent]);
    expect(undrained.stderr).toBe("");
    expect(undrained.code).toBe(0);
    expect(undrained.stdout).toBe(`${agent} (cli-drained): undrained, takes work again\n`);
    expect((await api.get("/metrics")).body).toContain('qgjob_agents_drained{target="emulator"} 0');
    expect((await qgjob(["agents"])).stdout).toMatch(
      new RegExp(`${agent}\\s+cli-drained\\s+idle\\s`),
    );
  });

  it("refuses bad input in one line with exit code 2", async () => {
    for (const args of [
      ["agents", "undrain", "agt_01JD0000000000000000000000"],
      ["agents", "undrain"],
    ]) {
      const out = await qgjob(args);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
      expect(out.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
