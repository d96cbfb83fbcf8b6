/**
 * What a device costs per test before the test itself runs: AppWright 0.1.1's own behaviour
 * ("stock": per test a driver reinstall, a new Appium server, a session that installs the app)
 * against qgjob's kept device session (one Appium per device, the driver checked once, one
 * install per version, then a plain session per test), for N tests over 2 app versions on 1 and
 * 2 devices. Same machine, same run, real Appium 3 with @appium/fake-driver as the device.
 *
 *   npm run bench:devices [-- --tests N] [--json]
 *
 * How each number is obtained:
 * - Appium starts and sessions are real, timed on every test (stock) or as they happen (kept).
 * - The driver reinstall stock does per test (`appium driver uninstall` + `install`) would
 *   remove the fake driver the example depends on, and uiautomator2 is a download: it is timed
 *   once with the real command into a throwaway APPIUM_HOME (`appium driver install
 *   --source=npm @appium/fake-driver`) and that time counted for every stock test.
 * - An install is the fake platform's (a copy of the build); on a real device `adb install`
 *   costs seconds more, on both sides per install, so stock (one per test) loses more there.
 * - Stock cannot run two devices on one host (its Appium port is fixed at 4723): its 2-device
 *   wall time is the two devices one after the other.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { AppiumServer } from "../agent/device/appium-server.js";
import { FakePlatform } from "../agent/device/platforms.js";
import { DeviceSession } from "../agent/device/session.js";
import { EXAMPLE_DIR, freePort, installExamples } from "../test/appwright-env.js";
import { table } from "./table.js";

const args = process.argv.slice(2);
const asJson = args.includes("--json");
const tests = Number(args[args.indexOf("--tests") + 1]) || 6;
const VERSIONS = ["1.0.0", "2.0.0"];
const APPIUM_MAIN = path.join(EXAMPLE_DIR, "node_modules", "appium", "index.js");
const build = (v: string) => path.join(EXAMPLE_DIR, "builds", `fake-app-${v}.apk`);

interface Row {
  mode: "stock" | "kept";
  devices: number;
  tests: number;
  installs: number;
  appiumStarts: number;
  driverInstalls: number;
  setupSPerTest: number;
  /** Setup per test without the driver reinstall (stock's Appium start and installing session). */
  setupSPerTestNoDriver: number;
  wallS: number;
}

installExamples();
const work = mkdtempSync(path.join(tmpdir(), "qgjob-bench-devices-"));
const log = (line: string) => {
  if (!asJson) process.stderr.write(`${line}\n`);
};

process.env.WDIO_LOG_LEVEL ??= "error"; // webdriver logs each connection at info on stdout
const req = createRequire(
  createRequire(path.join(EXAMPLE_DIR, "package.json")).resolve("appwright"),
);
const WebDriver = (await import(pathToFileURL(req.resolve("webdriver")).href)).default;

async function session(port: number, capabilities: Record<string, unknown>) {
  const client = await WebDriver.newSession({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities,
  });
  await client.deleteSession();
}

/**
 * The tests of each device, as the scheduler hands them out: grouped by version, one group per
 * device when there are two devices (N/2 tests of each version).
 */
function plan(devices: number): string[][] {
  const all = Array.from({ length: tests }, (_, i) => VERSIONS[i < tests / 2 ? 0 : 1]!);
  const per = Math.ceil(tests / devices);
  return Array.from({ length: devices }, (_, d) => all.slice(d * per, (d + 1) * per));
}

function timeDriverReinstall(): number {
  const home = path.join(work, "appium-home");
  mkdirSync(home, { recursive: true });
  const started = performance.now();
  execFileSync(
    process.execPath,
    [APPIUM_MAIN, "driver", "install", "--source=npm", "@appium/fake-driver"],
    { env: { ...process.env, APPIUM_HOME: home }, stdio: "pipe", timeout: 600_000 },
  );
  return performance.now() - started;
}

async function stockDevice(versions: string[], driverMs: number) {
  let setupMs = 0;
  const port = await freePort(); // stands in for the fixed 4723
  for (const v of versions) {
    const appium = new AppiumServer({
      main: APPIUM_MAIN,
      port,
      driver: "fake",
      appiumHome: EXAMPLE_DIR,
    });
    const started = performance.now();
    await appium.ensure();
    await session(port, {
      platformName: "Fake",
      "appium:automationName": "Fake",
      "appium:app": build(v),
      "appium:fullReset": true,
    });
    setupMs += performance.now() - started + driverMs;
    await appium.stop();
  }
  return { setupMs, installs: versions.length, appiumStarts: versions.length };
}

async function keptDevice(udid: string, versions: string[]) {
  const stateDir = path.join(work, "state");
  mkdirSync(path.join(stateDir, udid), { recursive: true });
  const appium = new AppiumServer({
    main: APPIUM_MAIN,
    port: await freePort(),
    driver: "fake",
    appiumHome: EXAMPLE_DIR,
  });
  const device = new DeviceSession({
    platform: new FakePlatform(stateDir),
    appium,
    udid,
    betweenTests: "clear",
    ports: { systemPort: 0, wdaLocalPort: 0 },
    stateDir,
  });
  const started = performance.now();
  await device.start();
  let setupMs = performance.now() - started;
  let current = "";
  let spec: Awaited<ReturnType<DeviceSession["prepare"]>>["spec"] | null = null;
  for (const v of versions) {
    const t0 = performance.now();
    if (v !== current) {
      // A new lease: the version changes.
      spec = (
        await device.prepare(
          { appVersionId: v, buildPath: build(v), install: true },
          path.join(work, "s.jsonl"),
        )
      ).spec;
      current = v;
    }
    await session(spec!.port, spec!.capabilities);
    setupMs += performance.now() - t0;
  }
  await device.stop();
  return {
    setupMs,
    installs: device.stats.installs,
    appiumStarts: appium.stats.appiumStarts,
    driverInstalls: appium.stats.driverInstalls,
  };
}

const rows: Row[] = [];
let driverS = 0;
try {
  log("timing one real driver install (stock does one per test)...");
  const driverMs = timeDriverReinstall();
  driverS = driverMs / 1000;
  log(`one driver install: ${driverS.toFixed(1)} s`);
  for (const devices of [1, 2]) {
    const shares = plan(devices);
    let started = performance.now();
    let stockSetup = 0;
    let stockInstalls = 0;
    let stockStarts = 0;
    for (const share of shares) {
      const r = await stockDevice(share, driverMs); // one after the other: port 4723
      stockSetup += r.setupMs;
      stockInstalls += r.installs;
      stockStarts += r.appiumStarts;
    }
    rows.push({
      mode: "stock",
      devices,
      tests,
      installs: stockInstalls,
      appiumStarts: stockStarts,
      driverInstalls: tests,
      setupSPerTest: stockSetup / tests / 1000,
      setupSPerTestNoDriver: (stockSetup - driverMs * tests) / tests / 1000,
      wallS: (performance.now() - started + driverMs * tests) / 1000,
    });
    log(`stock on ${devices} device(s) done`);
    started = performance.now();
    const kept = await Promise.all(
      shares.map((share, d) => keptDevice(`bench-${devices}-${d}`, share)),
    );
    rows.push({
      mode: "kept",
      devices,
      tests,
      installs: kept.reduce((a, r) => a + r.installs, 0),
      appiumStarts: kept.reduce((a, r) => a + r.appiumStarts, 0),
      driverInstalls: kept.reduce((a, r) => a + r.driverInstalls, 0),
      setupSPerTest: kept.reduce((a, r) => a + r.setupMs, 0) / tests / 1000,
      setupSPerTestNoDriver: kept.reduce((a, r) => a + r.setupMs, 0) / tests / 1000,
      wallS: (performance.now() - started) / 1000,
    });
    log(`kept on ${devices} device(s) done`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (asJson) {
  process.stdout.write(
    `${JSON.stringify({ tests, versions: VERSIONS.length, driverInstallS: driverS, rows }, null, 2)}\n`,
  );
} else {
  const head = [
    "mode",
    "devices",
    "tests",
    "installs",
    "appium starts",
    "driver installs",
    "setup s/test",
    "without driver",
    "wall s",
  ];
  const body = rows.map((r) => [
    r.mode,
    r.devices,
    r.tests,
    r.installs,
    r.appiumStarts,
    r.driverInstalls,
    r.setupSPerTest.toFixed(2),
    r.setupSPerTestNoDriver.toFixed(2),
    r.wallS.toFixed(1),
  ]);
  process.stdout.write(`${table(head, body)}\n`);
  for (const devices of [1, 2]) {
    const s = rows.find((r) => r.mode === "stock" && r.devices === devices)!;
    const k = rows.find((r) => r.mode === "kept" && r.devices === devices)!;
    process.stdout.write(
      `${devices} device(s): kept setup per test is ${(k.setupSPerTest / s.setupSPerTest).toFixed(3)}x stock` +
        ` (${(k.setupSPerTest / s.setupSPerTestNoDriver).toFixed(3)}x stock without its driver reinstall)\n`,
    );
  }
}
