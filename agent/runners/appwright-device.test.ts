/**
 * The AppWright runner with a device the agent owns: a real Appium 3 server with
 * `@appium/fake-driver` (the example's devDependency, APPIUM_HOME = the example) stands in for
 * the device; the example's device tests open their sessions through qgjob's override of
 * AppWright's `deviceProvider`. Counts what the device did: installs, Appium starts, sessions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AppiumServer } from "../device/appium-server.js";
import { FakePlatform } from "../device/platforms.js";
import { DeviceSession } from "../device/session.js";
import { AppwrightRunner } from "./appwright.js";
import type { RunContext, RunnerJob, TestOutcome } from "./runner.js";
import {
  EXAMPLE_DIR,
  exampleCopy,
  freePort,
  installExamples,
  stubAndroid,
  type StubAndroid,
} from "../../test/appwright-env.js";

const APPIUM_MAIN = path.join(EXAMPLE_DIR, "node_modules", "appium", "index.js");
const build = (v: string) => path.join(EXAMPLE_DIR, "builds", `fake-app-${v}.apk`);

let android: StubAndroid;
let work: string;
let project: string;
let appium: AppiumServer;
const lines: string[] = [];

/** 20 one-test files (a job is a file), plus a file that waits for a go-ahead. */
function files(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; i <= 20; i++) {
    out[`tests/device/n${i}.spec.ts`] = `import { test, expect } from "appwright";
test("n${i}", async ({ device }) => {
  expect(await device.getByXpath("//MockInputField[@id='name']").getText()).toBe("");
});
`;
  }
  out["tests/device/wait.spec.ts"] = `import { test } from "appwright";
import { existsSync, writeFileSync } from "node:fs";
test("waits, then taps", async ({ device }) => {
  writeFileSync(process.env.QGJOB_TEST_READY!, "");
  while (!existsSync(process.env.QGJOB_TEST_GO!)) await new Promise((r) => setTimeout(r, 50));
  await device.tap({ x: 1, y: 1 });
});
`;
  return out;
}

beforeAll(async () => {
  installExamples();
  android = stubAndroid();
  work = mkdtempSync(path.join(tmpdir(), "qgjob-device-"));
  project = exampleCopy(path.join(work, "project"), files());
  appium = new AppiumServer({
    main: APPIUM_MAIN,
    port: await freePort(),
    driver: "fake",
    appiumHome: EXAMPLE_DIR,
    onLine: (l) => lines.push(l),
  });
}, 600_000);

afterAll(async () => {
  await appium?.stop();
  android?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

function deviceOn(udid: string, stateDir = path.join(work, "state")) {
  mkdirSync(path.join(stateDir, udid), { recursive: true }); // "plugged in"
  return new DeviceSession({
    platform: new FakePlatform(stateDir),
    appium,
    udid,
    betweenTests: "clear",
    ports: { systemPort: 0, wdaLocalPort: 0 },
    stateDir,
    onLine: (l) => lines.push(l),
  });
}

function runnerOn(device: DeviceSession, env: NodeJS.ProcessEnv = {}) {
  return new AppwrightRunner({
    projectDir: project,
    project: "android-emu",
    env: { ...android.env, ...env },
    device,
    onLine: (l) => lines.push(l),
  });
}

async function lease(
  runner: AppwrightRunner,
  version: string,
  jobs: RunnerJob[],
  hooks: Partial<RunContext> = {},
) {
  const outcomes = new Map<string, TestOutcome>();
  await runner.run(jobs, {
    build: { appVersionId: `av-${version}`, buildPath: build(version), install: true },
    onStart: async () => undefined,
    onOutcome: async (o) => void outcomes.set(o.jobId, o),
    stopped: () => new AbortController().signal,
    ...hooks,
  });
  return outcomes;
}

const job = (file: string, timeoutS = 60): RunnerJob => ({
  id: file,
  testPath: `tests/device/${file}.spec.ts`,
  attempt: 1,
  timeoutS,
});

describe("a device session kept across tests and leases", () => {
  test("20 tests of one version: 1 install, 20 sessions; a second version 1 more; a device that has it 0", async () => {
    const device = deviceOn("fake-1");
    const runner = runnerOn(device);
    const twenty = Array.from({ length: 20 }, (_, i) => job(`n${i + 1}`));
    const first = await lease(runner, "1.0.0", twenty);
    const seen = [...first.values()].map((o) => `${o.jobId}:${o.status}:${o.message ?? ""}`);
    expect(seen.sort()).toEqual(twenty.map((j) => `${j.id}:passed:`).sort());
    expect(runner.stats).toMatchObject({ invocations: 1, installs: 1, sessions: 20 });
    expect(appium.stats).toMatchObject({ appiumStarts: 1, driverInstalls: 0 });

    // The example's own device tests (tap, type, read back; a clean state in the next test).
    const second = await lease(runner, "2.0.0", [
      { ...job("home"), testPath: "tests/device/home.spec.ts" },
    ]);
    expect(second.get("home")).toMatchObject({ status: "passed" });
    expect(runner.stats).toMatchObject({ installs: 2, sessions: 22 });

    // Another agent process on the same device (its record on disk): the build is there.
    const again = runnerOn(deviceOn("fake-1"));
    const third = await lease(again, "2.0.0", [job("n1")]);
    expect(third.get("n1")).toMatchObject({ status: "passed" });
    expect(again.stats).toMatchObject({ installs: 0, sessions: 1 });
    expect(existsSync(path.join(work, "state", "fake-1", "run.qgjob.demo.xml"))).toBe(true);
    expect(appium.stats.appiumStarts).toBe(1);
  }, 300_000);

  test("Appium killed mid-test: an infrastructure error, then Appium restarts for the next lease", async () => {
    const ready = path.join(work, "ready");
    const go = path.join(work, "go");
    const runner = runnerOn(deviceOn("fake-2"), { QGJOB_TEST_READY: ready, QGJOB_TEST_GO: go });
    const starts = appium.stats.appiumStarts;
    const killer = (async () => {
      while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 50));
      process.kill(-appium.pid!, "SIGKILL");
      while (appium.running) await new Promise((r) => setTimeout(r, 50));
      writeFileSync(go, "");
    })();
    const broken = await lease(runner, "1.0.0", [job("wait", 30)]);
    await killer;
    expect(broken.get("wait")).toMatchObject({ status: "error" });
    expect(broken.get("wait")!.message).toMatch(/^the Appium server died during the test/);

    const next = await lease(runner, "1.0.0", [job("n2")]);
    expect(next.get("n2")).toMatchObject({ status: "passed" });
    expect(appium.stats.appiumStarts).toBe(starts + 1);
  }, 300_000);

  test("a build whose package cannot be read fails the lease's jobs as infrastructure errors", async () => {
    const bad = path.join(work, "nopkg.apk");
    writeFileSync(bad, "<app><MockButton id='x'/></app>");
    const runner = runnerOn(deviceOn("fake-3"));
    const outcomes = new Map<string, TestOutcome>();
    await runner.run([job("n3")], {
      build: { appVersionId: "av-bad", buildPath: bad, install: true },
      onStart: async () => undefined,
      onOutcome: async (o) => void outcomes.set(o.jobId, o),
      stopped: () => new AbortController().signal,
    });
    expect(outcomes.get("n3")).toMatchObject({
      status: "error",
      message: `device setup failed: cannot read the package name of ${bad}: no <app package="..."> in the fake app`,
    });
    expect(runner.stats.invocations).toBe(0);
  }, 60_000);
});
