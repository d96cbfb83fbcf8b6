/**
 * A misconfigured `qgjob agent` says so at start, one line per problem and exit 2, before it
 * takes any work; a job that ends in an error says why on its log line.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_DIR, installExamples } from "../appwright-env.js";
import { client, submit, tempDir } from "../harness.js";
import { killAll, qgjob, spawnQgjob, spawnServer } from "../processes.js";

let dir: string;
/** Nothing listens there: every check must come before the agent calls the server. */
const NOWHERE = "http://127.0.0.1:9";

const agent = (...args: string[]) =>
  qgjob(["agent", "--url", NOWHERE, "--target", "emulator", "--name", "setup", ...args], {}, dir);

/** The agent's complaint: its only line, on stderr, exit 2. */
function refused(res: { code: number | null; output: string }) {
  expect(res.code, res.output).toBe(2);
  const lines = res.output.trim().split("\n");
  expect(lines, res.output).toHaveLength(1);
  return lines[0];
}

beforeAll(() => {
  installExamples();
  dir = tempDir("qgjob-agent-setup-");
  mkdirSync(join(dir, "builds"));
}, 600_000);

afterAll(() => {
  killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("an agent checks its setup at start", () => {
  it("refuses a --project-dir that does not exist", async () => {
    const res = await agent(
      ...["--runner", "command", "--command", "sh {test}", "--project-dir", "./e2e"],
    );
    expect(refused(res)).toBe(`qgjob: --project-dir: ${join(dir, "e2e")} is not a directory`);
  });

  it("refuses an AppWright project the config does not have, naming the ones it has", async () => {
    const res = await agent(...["--project", "android-emux", "--project-dir", EXAMPLE_DIR]);
    expect(refused(res)).toBe(
      `qgjob: --project: no project 'android-emux' in ${join(EXAMPLE_DIR, "appwright.config.ts")} ` +
        `(it has "android-emu", "browserstack")`,
    );
  }, 120_000);

  it("refuses a --project-dir without appwright.config.ts for the AppWright runner", async () => {
    const res = await agent(...["--project", "android-emu", "--project-dir", "builds"]);
    expect(refused(res)).toBe(
      `qgjob: --project-dir: no appwright.config.ts in ${join(dir, "builds")}`,
    );
  });

  it("refuses a --build template whose directory does not exist, or a fixed build that is missing", async () => {
    const command = ["--runner", "command", "--command", "sh {test}"];
    expect(refused(await agent(...command, "--build", "./bulds/{app_version_id}.apk"))).toBe(
      `qgjob: --build: ${join(dir, "bulds")} does not exist (the builds' directory)`,
    );
    expect(refused(await agent(...command, "--build", "builds/app.apk"))).toBe(
      `qgjob: --build: ${join(dir, "builds", "app.apk")} does not exist`,
    );
  });
});

describe("an agent's log says why a job ended in an error", () => {
  it("gives the reason on the result's line", async () => {
    const server = await spawnServer(["--db", join(dir, "qgjob.db")]);
    const agent = spawnQgjob(
      [
        ...["agent", "--url", server.url, "--target", "emulator", "--name", "reasons", "--json"],
        ...["--runner", "command", "--command", "qgjob-no-such-tool {test}", "--project-dir", "."],
        ...["--lease-wait", "1s"],
      ],
      {},
      dir,
    );
    const run = await submit(client(server.url), {
      org_id: "acme",
      app_version_id: "1.0.0",
      target: "emulator",
      tests: ["a.sh"],
      max_attempts: 1,
    });
    expect(run.status).toBe(201);
    const deadline = Date.now() + 60_000;
    const posted = () =>
      agent
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.msg === "result posted");
    while (!posted() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(posted()).toMatchObject({
      status: "error",
      reason: "the test command could not run (exit 127): qgjob-no-such-tool 'a.sh'",
    });
  }, 120_000);
});
