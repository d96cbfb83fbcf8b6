/**
 * The list commands like gh's: `runs list`, `jobs list`, `agents`, `queue` as tables for people
 * and JSON for scripts, with filters and `--limit`; colour and relative times only on a terminal
 * (a real pseudo-terminal through util-linux `script`), honouring NO_COLOR and FORCE_COLOR.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { bodyOf, registerAgent, serverPerSuite, submit } from "../harness.js";
import { CLI, runCli } from "./cli-process.js";

const suite = serverPerSuite();
const qgjob = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { QGJOB_URL: suite.server.url, ...env });

/** `qgjob …` on a pseudo-terminal: what a person at a terminal sees (stdout and stderr merged). */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, ...CLI, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    env: {
      ...process.env,
      QGJOB_URL: suite.server.url,
      QGJOB_TOKEN: "",
      NO_COLOR: "",
      FORCE_COLOR: "",
      TERM: "xterm-256color",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  return new Promise((resolve) => child.on("close", () => resolve(out)));
}

const ESC = "\u001b[";

describe("list commands", { timeout: 60_000 }, () => {
  it("runs list: newest first as a table, --json, --status and --limit", async () => {
    const org = "lists-runs";
    const a = bodyOf(await submit(suite.api, { org_id: org, tests: ["tests/a.spec.ts"] }));
    const b = bodyOf(
      await submit(suite.api, { org_id: org, tests: ["tests/b.spec.ts", "tests/c.spec.ts"] }),
    );
    await suite.api.post(`/api/v1/runs/${a.id}/cancel`, {});
    const [table, json, cancelled] = await Promise.all([
      qgjob(["runs", "list", "--org-id", org]),
      qgjob(["runs", "list", "--org-id", org, "--json", "--limit", "1"]),
      qgjob(["runs", "list", "--org-id", org, "--status", "cancelled"]),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+ORG\s+SOURCE\s+APP VERSION\s+TESTS\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([b.id, a.id]);
    expect(lines[1]).toMatch(
      new RegExp(`${b.id}\\s+queued\\s+${org}\\s+api\\s+xyz123\\s+2 · 2 queued`),
    );
    // Off a terminal, times are exact UTC to the second (no milliseconds, no "ago").
    expect(lines[1]).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(JSON.parse(json.stdout).items.map((r: { id: string }) => r.id)).toEqual([b.id]);
    expect(JSON.parse(json.stdout).items[0].created_at).toBe(b.created_at);
    expect(cancelled.stdout).toContain(a.id);
    expect(cancelled.stdout).not.toContain(b.id);
  });

  it("jobs list --run-id: the run's jobs; a bad filter is a usage error", async () => {
    const run = bodyOf(
      await submit(suite.api, {
        org_id: "lists-jobs",
        tests: ["tests/x.spec.ts", "tests/y.spec.ts"],
      }),
    );
    const [jobs, bad] = await Promise.all([
      qgjob(["jobs", "list", "--run-id", run.id]),
      qgjob(["jobs", "list", "--status", "finished"]),
    ]);
    expect(jobs.code).toBe(0);
    expect(jobs.stdout).toMatch(/^JOB\s+TEST\s+STATUS\s+TRIES\s+DURATION\s+AGENT\s+FINISHED\n/);
    expect(jobs.stdout).toMatch(/tests\/x\.spec\.ts\s+queued/);
    expect(jobs.stdout).toMatch(/tests\/y\.spec\.ts\s+queued/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status.*finished.*(queued|Allowed choices)/);
  });

  it("agents and queue: tables, filters and --json", async () => {
    const agentId = await registerAgent(suite.api, "lists-pixel", { device: "Pixel_7" });
    await submit(suite.api, {
      org_id: "lists-queue",
      app_version_id: "q1",
      tests: ["tests/q.spec.ts"],
    });
    const [agents, lost, queue, queueJson] = await Promise.all([
      qgjob(["agents"]),
      qgjob(["agents", "--state", "lost", "--json"]),
      qgjob(["queue"]),
      qgjob(["queue", "--target", "emulator", "--json"]),
    ]);
    expect(agents.stdout).toMatch(/^AGENT\s+NAME\s+STATE\s+TARGET\s+DEVICE\s+LEASE\s+LAST SEEN\n/);
    expect(agents.stdout).toMatch(
      new RegExp(`${agentId}\\s+lists-pixel\\s+idle\\s+emulator\\s+Pixel_7`),
    );
    expect(JSON.parse(lost.stdout)).toEqual({ items: [] });
    expect(queue.stdout).toMatch(
      /^TARGET\s+QUEUED\s+LEASED\s+RUNNING\s+AGENTS IDLE\s+AGENTS BUSY\n/,
    );
    expect(queue.stdout).toMatch(/lists-queue\s+q1\s+emulator\s+1\s+5\s/);
    const parsed = JSON.parse(queueJson.stdout);
    expect(parsed.targets.map((t: { target: string }) => t.target)).toEqual(["emulator"]);
    expect(parsed.groups.some((g: { org_id: string }) => g.org_id === "lists-queue")).toBe(true);
  });

  it("colours status words and says times relatively on a terminal only, as NO_COLOR and FORCE_COLOR say", async () => {
    const run = bodyOf(
      await submit(suite.api, { org_id: "lists-tty", tests: ["tests/t.spec.ts"] }),
    );
    const args = ["runs", "list", "--org-id", "lists-tty"];
    const [tty, noColor, piped, forced] = await Promise.all([
      onTerminal(args),
      onTerminal(args, { NO_COLOR: "1" }),
      qgjob(args),
      qgjob(args, { FORCE_COLOR: "1" }),
    ]);
    expect(tty).toContain(`${ESC}2mqueued${ESC}0m`);
    expect(tty).toMatch(new RegExp(`${run.id}.*\\d+s ago`));
    expect(noColor).toContain(run.id);
    expect(noColor).not.toContain(`${ESC}2m`);
    expect(noColor).toMatch(/\d+s ago/); // still a terminal: still relative
    expect(piped.stdout).not.toContain(ESC);
    expect(piped.stdout).not.toContain(" ago");
    expect(forced.stdout).toContain(`${ESC}2mqueued${ESC}0m`);
  });
});
