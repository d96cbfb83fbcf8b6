/**
 * Hermetic runs, every part its own process: `qgjob submit --project-dir` sends two commits of
 * one test project; `qgjob agent`s (command runner, an empty --project-dir of their own) run
 * each run's tests from its bundle, install its dependencies once per lockfile, and serve a
 * re-run from their cache.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QgjobClient } from "../../api/client.js";
import type { RunWithJobs } from "../../api/schemas.js";
import { killAll, qgjob, spawnQgjob, spawnServer, type Spawned } from "../processes.js";

let url: string;
let client: QgjobClient;
const root = mkdtempSync(join(tmpdir(), "qgjob-e2e-bundles-"));
const agents: Record<string, Spawned> = {};

/** A commit of the test project: a package with a dependency-free lockfile, shell tests. */
function commit(name: string, tests: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "tests"), { recursive: true });
  const pkg = { name: "e2e-tests", version: "1.0.0", private: true };
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify({ ...pkg, lockfileVersion: 3, requires: true, packages: { "": pkg } }),
  );
  for (const [file, body] of Object.entries(tests)) writeFileSync(join(dir, "tests", file), body);
  return dir;
}

function startAgent(name: string) {
  const own = join(root, name);
  mkdirSync(join(own, "checkout"), { recursive: true }); // holds no tests: only bundles can pass
  agents[name] = spawnQgjob([
    ...["agent", "--url", url, "--name", name, "--lease-wait", "2s", "--json"],
    ...["--target", "device", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", join(own, "checkout"), "--cache-dir", join(own, "cache")],
    ...["--spool-dir", join(own, "spool"), "--state-dir", join(own, "state")],
  ]);
}

const logOf = (name: string) =>
  agents[name]!.output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown });

async function submit(dir: string, tests: string[], more: string[] = []): Promise<string> {
  const res = await qgjob([
    ...["submit", "--url", url, "--org-id=qualgent", "--app-version-id=v1", "--target=device"],
    ...tests.map((t) => `--test=${t}`),
    ...["--project-dir", dir, "--json", ...more],
  ]);
  expect(res.code, res.output).toBe(0);
  return (JSON.parse(res.output.slice(res.output.indexOf("{"))) as { id: string }).id;
}

async function finished(runId: string): Promise<RunWithJobs> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = await client.getRun(runId);
    if (run.finished_at) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const outcomes = (run: RunWithJobs) =>
  Object.fromEntries(run.jobs.map((j) => [j.test_path, j.status]));

let commitA: string;
let commitB: string;

beforeAll(async () => {
  commitA = commit("commit-a", { "login.sh": "exit 0\n" });
  commitB = commit("commit-b", {
    "login.sh": 'echo "expected 2, got 3" >&2; exit 1\n',
    "new.sh": "exit 0\n",
  });
  const server = await spawnServer(["--db", join(root, "qgjob.db")]);
  url = server.url;
  client = new QgjobClient({ baseUrl: url, retries: 0 });
  startAgent("agent-1");
}, 60_000);

afterAll(() => killAll());

describe("agents run the run's bundle", { timeout: 120_000 }, () => {
  it("runs commit A's and commit B's tests, installing the lockfile's dependencies once", async () => {
    const a = await finished(await submit(commitA, ["tests/login.sh"]));
    expect(outcomes(a)).toEqual({ "tests/login.sh": "passed" });
    const b = await finished(await submit(commitB, ["tests/login.sh", "tests/new.sh"]));
    expect(outcomes(b)).toEqual({ "tests/login.sh": "failed", "tests/new.sh": "passed" });
    expect(b.jobs.find((j) => j.test_path === "tests/login.sh")!.result?.message).toContain(
      "expected 2, got 3",
    );
    const log = logOf("agent-1");
    // Two bundles, one lockfile: npm ci ran for the first only.
    expect(log.filter((l) => l.msg === "dependencies installed")).toHaveLength(1);
    expect(log.filter((l) => l.msg === "dependencies cached")).toHaveLength(1);
    expect(log.filter((l) => l.msg === "bundle ready" && l.downloaded === true)).toHaveLength(2);
  });

  it("two agents serve both commits at once without crossing; a re-run downloads nothing new", async () => {
    startAgent("agent-2");
    const before = logOf("agent-1").filter((l) => l.msg === "bundle ready").length;
    const [a, b] = await Promise.all([
      submit(commitA, ["tests/login.sh"]),
      submit(commitB, ["tests/login.sh", "tests/new.sh"]),
    ]);
    const [runA, runB] = await Promise.all([finished(a), finished(b)]);
    expect(outcomes(runA)).toEqual({ "tests/login.sh": "passed" });
    expect(outcomes(runB)).toEqual({ "tests/login.sh": "failed", "tests/new.sh": "passed" });
    // Whatever agent-1 ran again came from its cache: both bundles were there already.
    const again = logOf("agent-1")
      .filter((l) => l.msg === "bundle ready")
      .slice(before);
    for (const l of again) expect(l.downloaded).toBe(false);
    expect(logOf("agent-1").filter((l) => l.msg === "dependencies installed")).toHaveLength(1);
  });

  it("hands an agent without --build the build uploaded with the run, under its name", async () => {
    const dir = commit("commit-d", {
      "build.sh":
        'test "$(basename "$QGJOB_BUILD_PATH")" = app-debug.apk && grep -q stub "$QGJOB_BUILD_PATH"\n',
    });
    const apk = join(root, "app-debug.apk");
    writeFileSync(apk, "stub build");
    const run = await finished(await submit(dir, ["tests/build.sh"], ["--build", apk]));
    expect(outcomes(run)).toEqual({ "tests/build.sh": "passed" });
  });

  it("reports a failed npm ci as an infrastructure error with npm's own words", async () => {
    const broken = commit("commit-c", { "login.sh": "exit 0\n" });
    // package.json asks for a package its lockfile does not hold: npm ci refuses, offline.
    const pkg = { name: "e2e-broken", version: "1.0.0" };
    const lock = { ...pkg, lockfileVersion: 3, requires: true, packages: { "": pkg } };
    writeFileSync(join(broken, "package-lock.json"), JSON.stringify(lock));
    writeFileSync(
      join(broken, "package.json"),
      JSON.stringify({ ...pkg, dependencies: { "left-pad": "1.3.0" } }),
    );
    await submit(broken, ["tests/login.sh"]);
    const failures = () =>
      ["agent-1", "agent-2"].flatMap((name) =>
        logOf(name).filter((l) => l.msg === "bundle preparation failed"),
      );
    const deadline = Date.now() + 60_000;
    while (failures().length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const message = String(failures()[0]?.err);
    expect(message).toMatch(/^npm ci failed \(exit 1\):/);
    expect(message).toContain("Missing: left-pad@1.3.0 from lock file");
  });
});
