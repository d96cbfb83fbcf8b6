/**
 * The loop a user sees, with every part its own process: `qgjob server`, `qgjob agent`s and the
 * `qgjob` CLI. Two agents run the real AppWright example (playwright with appwright.config.ts);
 * two run shell tests through the command runner, for the crash and cancel cases.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_DIR, installExamples, stubAndroid, type StubAndroid } from "../appwright-env.js";
import { killAll, qgjob, spawnQgjob, spawnServer } from "../processes.js";

let url: string;
let android: StubAndroid;
let scripts: string;
const MARKER = `qgjob-e2e-${process.pid}`;

const alive = (marker: string) => {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim() !== "";
  } catch {
    return false;
  }
};

async function until(check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cli = (...args: string[]) => qgjob([...args, "--url", url]);

async function json(...args: string[]) {
  const res = await cli(...args, "--json");
  return JSON.parse(res.output.slice(res.output.indexOf("{")));
}

/** Flags of an agent running the shell tests through the command runner. */
const shellAgent = () => [
  ...["--target", "device", "--runner", "command", "--command", "sh {test}"],
  ...["--project-dir", scripts],
];

function startAgent(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnQgjob(["agent", "--url", url, "--name", name, "--lease-wait", "2s", ...args], env);
}

beforeAll(async () => {
  installExamples();
  android = stubAndroid();
  scripts = mkdtempSync(join(tmpdir(), "qgjob-e2e-scripts-"));
  // Slow enough to be caught running; the marker names its process for pgrep.
  writeFileSync(
    join(scripts, "slow.sh"),
    `"${process.execPath}" -e "setTimeout(() => {}, 4000)" ${MARKER}-slow\n`,
  );
  writeFileSync(
    join(scripts, "long.sh"),
    `"${process.execPath}" -e "setTimeout(() => {}, 60000)" ${MARKER}-long\n`,
  );

  const server = await spawnServer(["--db", join(scripts, "qgjob.db")], {
    QGJOB_LEASE_TTL_S: "3",
    QGJOB_REAP_INTERVAL_S: "0.5",
  });
  url = server.url;
  const appwright = ["--target", "emulator", "--runner", "appwright", "--project", "android-emu"];
  for (const name of ["aw-1", "aw-2"]) {
    startAgent(
      name,
      [...appwright, "--project-dir", EXAMPLE_DIR, "--build", android.apk],
      android.env,
    );
  }
}, 300_000);

afterAll(() => {
  killAll();
  android?.remove();
  if (scripts) rmSync(scripts, { recursive: true, force: true });
});

// Each test runs real Playwright processes and waits up to its own --timeout; the suite default
// (20 s) is too short for them on a loaded 2-core machine.
describe("submit, run on AppWright, watch it finish", { timeout: 120_000 }, () => {
  it("exits 0 when every test passes", async () => {
    const res = await cli(
      "submit",
      "--org-id=qualgent",
      "--app-version-id=demo-1",
      "--test=tests/passing.spec.ts",
      "--wait",
      "--timeout=120s",
    );
    expect(res.output).toMatch(/passed/);
    expect(res.code).toBe(0);
  });

  it("the seed's line: tests/onboarding.spec.js of the example passes", async () => {
    const res = await cli(
      "submit",
      "--org-id=qualgent",
      "--app-version-id=xyz123",
      "--test=tests/onboarding.spec.js",
      "--wait",
      "--timeout=120s",
    );
    expect(res.output).toMatch(/passed/);
    expect(res.code).toBe(0);
  });

  it("exits 1 when a test fails, and shows the failing file and line", async () => {
    const res = await cli(
      "submit",
      "--org-id=qualgent",
      "--app-version-id=demo-2",
      "--test=tests/passing.spec.ts",
      "--test=tests/failing.spec.ts",
      "--wait",
      "--timeout=120s",
    );
    expect(res.code).toBe(1);
    expect(res.output).toContain("tests/failing.spec.ts:6");
    const run = await json("status", `--run-id=${/run_[0-9A-Z]{26}/.exec(res.output)![0]}`);
    const failing = run.jobs.find((j: any) => j.test_path === "tests/failing.spec.ts");
    expect(failing.result).toMatchObject({ file: "tests/failing.spec.ts", line: 6 });
  });
});

describe("retries", { timeout: 120_000 }, () => {
  it("reruns a flaky AppWright test on the same device and reports it flaky, exit 0", async () => {
    const res = await cli(
      "submit",
      "--org-id=qualgent",
      "--app-version-id=demo-3",
      "--test=tests/flaky.spec.ts",
      "--retries=1",
      "--wait",
      "--timeout=120s",
    );
    expect(res.code).toBe(0);
    const run = await json("status", `--run-id=${/run_[0-9A-Z]{26}/.exec(res.output)![0]}`);
    expect(run.jobs[0]).toMatchObject({ status: "passed", flaky: true, attempts: 2 });
    expect(run.counts.flaky).toBe(1);
  });
});

describe("faults", { timeout: 120_000 }, () => {
  it("finishes a SIGKILLed agent's jobs on the other agent once its lease expires", async () => {
    const first = startAgent("crashy", shellAgent());
    const run = await json(
      "submit",
      "--org-id=qualgent",
      "--app-version-id=crash-1",
      "--target=device",
      "--test=slow.sh",
    );
    await until(() => alive(`${MARKER}-slow`));
    first.child.kill("SIGKILL");
    startAgent("steady", shellAgent());
    const res = await cli("wait", `--run-id=${run.id}`, "--timeout=60s");
    expect(res.code).toBe(0);
    const job = (await json("status", `--run-id=${run.id}`)).jobs[0];
    expect(job).toMatchObject({ status: "passed", attempts: 2 });
  });

  it("cancel stops a running test: its process is killed and the run ends cancelled", async () => {
    const run = await json(
      "submit",
      "--org-id=qualgent",
      "--app-version-id=cancel-1",
      "--target=device",
      "--test=long.sh",
    );
    await until(() => alive(`${MARKER}-long`));
    expect((await cli("cancel", `--run-id=${run.id}`)).code).toBe(0);
    await until(() => !alive(`${MARKER}-long`), 10_000);
    const after = await json("status", `--run-id=${run.id}`);
    expect(after.status).toBe("cancelled");
  });
});
