/**
 * Superseded runs from the CLI, every part its own process: `qgjob submit --supersede` from a
 * git checkout (repo from origin, branch from HEAD) while the branch's earlier run is on a
 * device; the earlier run's test process is stopped through the push channel, its run names the
 * superseding one in `status` and `wait`, and the new run runs.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import { tempDir } from "../harness.js";
import { killAll, qgjob, spawnQgjob, spawnServer } from "../processes.js";

let url: string;
let client: QgjobClient;
const root = tempDir("qgjob-e2e-supersede-");
const project = join(root, "checkout");
const died = join(root, "slow.died");

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
    cwd: project,
    stdio: ["ignore", "pipe", "ignore"],
  });

/** Commits the project's one test; `slow` runs until killed and writes that it died. */
function commitTest(body: string) {
  writeFileSync(join(project, "tests/login.sh"), body);
  git("add", "-A");
  git("commit", "-q", "-m", "test");
}

const submit = (...more: string[]) =>
  qgjob([
    ...["submit", "--url", url, "--org-id=acme", "--app-version-id=v1", "--target=device"],
    ...["--test=tests/login.sh", "--project-dir", project, "--supersede", ...more],
  ]);

const runIdOf = (output: string) => /^run (run_\w+)/m.exec(output)?.[1];

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  mkdirSync(join(project, "tests"), { recursive: true });
  git("init", "-q", "-b", "feature/login");
  git("remote", "add", "origin", "git@github.com:acme/mobile.git");
  const server = await spawnServer(["--db", join(root, "qgjob.db")]);
  url = server.url;
  client = new QgjobClient({ baseUrl: url, retries: 0 });
  mkdirSync(join(root, "agent-checkout"));
  spawnQgjob([
    ...["agent", "--url", url, "--name", "pixel", "--lease-wait", "2s"],
    ...["--target", "device", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", join(root, "agent-checkout"), "--cache-dir", join(root, "cache")],
    ...["--spool-dir", join(root, "spool"), "--state-dir", join(root, "state")],
  ]);
}, 60_000);

afterAll(() => killAll());

describe("qgjob submit --supersede", { timeout: 120_000 }, () => {
  it("stops the branch's earlier run on the device and names the run that superseded it", async () => {
    commitTest(
      [
        `trap 'echo died > "${died}"; exit 143' TERM`,
        `echo started > "${died}.started"`,
        `"${process.execPath}" -e "setTimeout(() => {}, 120000)" &`,
        "wait",
        "",
      ].join("\n"),
    );
    const first = await submit();
    expect(first.code, first.output).toBe(0);
    const older = runIdOf(first.output)!;
    expect(await client.getRun(older)).toMatchObject({
      repo: "acme/mobile",
      ref: "refs/heads/feature/login",
    });
    await until("the older run's test to start", () =>
      existsSync(`${died}.started`) ? true : undefined,
    );

    commitTest("exit 0\n");
    const second = await submit("--wait");
    expect(second.code, second.output).toBe(0);
    const newer = runIdOf(second.output)!;
    expect(second.output).toContain(`superseded run ${older}: its unfinished jobs are cancelled`);
    expect(second.output).toContain(`run ${newer} passed`);
    // The push channel stopped the older test's process: its TERM trap ran.
    await until("the older test to die", () => (existsSync(died) ? true : undefined));
    expect(readFileSync(died, "utf8")).toBe("died\n");

    expect(await client.getRun(older)).toMatchObject({
      status: "cancelled",
      superseded_by: newer,
    });
    const status = await qgjob(["status", "--url", url, "--run-id", older]);
    expect(status.output).toContain(`superseded by run ${newer}`);
    const wait = await qgjob(["wait", "--url", url, "--run-id", older]);
    expect(wait.code).toBe(1);
    expect(wait.output).toMatch(
      new RegExp(`^run ${older} cancelled, superseded by run ${newer} \\(waited`, "m"),
    );
  });

  it("refuses --supersede where the branch is unknown, in one line (exit 2)", async () => {
    git("checkout", "-q", "--detach");
    try {
      const res = await submit();
      expect(res.code).toBe(2);
      expect(res.output.trim()).toMatch(
        /^qgjob: --supersede: cannot tell the branch \(not on one\) in .*: give --repo <owner\/name> and --ref <branch>$/,
      );
      const given = await submit("--ref", "main");
      expect(given.code, given.output).toBe(0);
      expect(await client.getRun(runIdOf(given.output)!)).toMatchObject({
        repo: "acme/mobile",
        ref: "refs/heads/main",
      });
    } finally {
      git("checkout", "-q", "feature/login");
    }
  });
});
