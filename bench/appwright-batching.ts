/**
 * How much batching saves on real AppWright: 20 test files over 2 app versions, run by two
 * `qgjob agent` processes on the example project, against the baseline of one AppWright
 * invocation per test file (what a CI matrix or a shell loop does). Counts invocations and
 * build preparations from the agents' own logs, and times both.
 *
 *   npx tsx bench/appwright-batching.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_DIR, exampleCopy, installExamples, stubAndroid } from "../test/appwright-env.js";
import { killAll, qgjob, spawnQgjob, spawnServer } from "../test/processes.js";

const FILES = 10;
const VERSIONS = ["bench-a", "bench-b"];

installExamples();
const android = stubAndroid();
const project = mkdtempSync(join(tmpdir(), "qgjob-bench-aw-"));
try {
  const tests = Array.from(
    { length: FILES },
    (_, i) => `tests/gen-${String(i + 1).padStart(2, "0")}.spec.ts`,
  );
  exampleCopy(project, Object.fromEntries(tests.map((t) => [t, "from:tests/passing.spec.ts"])));

  // qgjob: one server, two agents, both versions submitted at once.
  const server = await spawnServer(["--db", join(project, "qgjob.db")]);
  const agents = ["aw-1", "aw-2"].map((name) =>
    spawnQgjob(
      [
        "agent",
        "--url",
        server.url,
        "--name",
        name,
        "--target",
        "emulator",
        "--runner",
        "appwright",
        "--project",
        "android-emu",
        "--project-dir",
        project,
        "--build",
        android.apk,
        "--json",
        "--lease-wait",
        "2s",
      ],
      android.env,
    ),
  );
  const t0 = performance.now();
  const results = await Promise.all(
    VERSIONS.map((v) =>
      qgjob([
        "submit",
        "--url",
        server.url,
        "--org-id",
        "bench",
        "--app-version-id",
        v,
        "--wait",
        "--timeout",
        "5m",
        ...tests.flatMap((t) => ["--test", t]),
      ]),
    ),
  );
  const qgjobMs = performance.now() - t0;
  for (const a of agents) a.child.kill("SIGTERM");
  await Promise.all(agents.map((a) => a.exited));
  const stopped = agents.map(
    (a) =>
      a
        .output()
        .split("\n")
        .filter((l) => l.includes('"agent stopped"'))
        .map((l) => JSON.parse(l))[0],
  );
  const sum = (k: string) => stopped.reduce((n, s) => n + (s?.[k] ?? 0), 0);

  // Baseline: one invocation per test file, sequentially, as a shell loop would.
  const cli = join(EXAMPLE_DIR, "node_modules/@playwright/test/cli.js");
  const t1 = performance.now();
  for (const _ of VERSIONS) {
    for (const t of tests) {
      execFileSync(
        process.execPath,
        [
          cli,
          "test",
          "--config",
          "appwright.config.ts",
          t,
          "--project",
          "android-emu",
          "--workers",
          "1",
          "--retries",
          "0",
          "--reporter",
          "json",
        ],
        {
          cwd: project,
          env: {
            ...process.env,
            ...android.env,
            QGJOB_BUILD_PATH: android.apk,
            PLAYWRIGHT_HTML_OPEN: "never",
          },
          stdio: "ignore",
        },
      );
    }
  }
  const baselineMs = performance.now() - t1;

  const jobs = FILES * VERSIONS.length;
  const row = {
    tests: jobs,
    versions: VERSIONS.length,
    exit_codes: results.map((r) => r.code),
    qgjob: {
      wall_s: +(qgjobMs / 1000).toFixed(1),
      leases: sum("leases"),
      invocations: sum("invocations"),
      builds: sum("builds"),
    },
    baseline_one_invocation_per_test: {
      wall_s: +(baselineMs / 1000).toFixed(1),
      invocations: jobs,
      builds: jobs,
    },
    per_test_s: {
      qgjob_2_agents: +(qgjobMs / 1000 / jobs).toFixed(2),
      baseline_1_process: +(baselineMs / 1000 / jobs).toFixed(2),
    },
  };
  console.log(JSON.stringify(row, null, 2));
} finally {
  killAll();
  android.remove();
  rmSync(project, { recursive: true, force: true });
}
