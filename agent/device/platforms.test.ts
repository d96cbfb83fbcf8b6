/**
 * The Android commands the agent issues (adb, aapt), run as real processes against a stub SDK
 * whose tools record their arguments: no device can answer here, so these tests check what the
 * agent asks for and how it reads the answers. Plus the agent's Appium port check.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AppiumError, checkPortFree } from "./appium-server.js";
import { AndroidPlatform, DeviceError, FakePlatform } from "./platforms.js";

let dir: string;
let sdk: string;
let calls: string;

/** A stub tool: logs its argv, then runs `body` (sh). */
function tool(file: string, body: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\necho "$(basename "$0") $*" >> ${calls}\n${body}\n`);
  chmodSync(file, 0o755);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "qgjob-platforms-"));
  sdk = path.join(dir, "sdk");
  calls = path.join(dir, "calls.log");
  tool(
    path.join(sdk, "platform-tools", "adb"),
    `case "$2" in emulator-5554) [ "$3" = get-state ] && echo device; exit 0;;
     *) echo "error: device '$2' not found" >&2; exit 1;; esac`,
  );
  // Two build-tools: the newest (numerically: 34.0.0 > 9.0.0) is the one used.
  tool(path.join(sdk, "build-tools", "9.0.0", "aapt"), "exit 9");
  tool(
    path.join(sdk, "build-tools", "34.0.0", "aapt"),
    `case "$3" in *good.apk) echo "package: name='run.qgjob.demo' versionCode='3'"
       echo "launchable-activity: name='run.qgjob.demo.Main'  label=''";;
     *) echo "ERROR: dump failed because no AndroidManifest.xml found" >&2; exit 1;; esac`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lastCall = () => readFileSync(calls, "utf8").trim().split("\n").pop();

describe("AndroidPlatform", () => {
  test("reads the package and activity with the newest aapt", async () => {
    const android = new AndroidPlatform(sdk);
    const app = await android.appInfo("/b/good.apk");
    expect(app).toEqual({ package: "run.qgjob.demo", activity: "run.qgjob.demo.Main" });
    expect(lastCall()).toBe("aapt dump badging /b/good.apk");
    expect(android.aapt).toContain(path.join("34.0.0", "aapt"));
  });

  test("a build whose package cannot be read is one clear DeviceError", async () => {
    const err = await new AndroidPlatform(sdk).appInfo("/b/broken.apk").catch((e: Error) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toBe(
      "cannot read the package name of /b/broken.apk: ERROR: dump failed because no AndroidManifest.xml found",
    );
  });

  test("checks the udid, installs with adb -s <udid> install -r -g", async () => {
    const android = new AndroidPlatform(sdk);
    await android.checkDevice("emulator-5554");
    expect(lastCall()).toBe("adb -s emulator-5554 get-state");
    const err = await android.checkDevice("emulator-9999").catch((e: Error) => e);
    expect((err as Error).message).toBe(
      "no device answers to --udid emulator-9999: error: device 'emulator-9999' not found",
    );
    await android.install("emulator-5554", "/b/good.apk");
    expect(lastCall()).toBe("adb -s emulator-5554 install -r -g /b/good.apk");
  });

  test("sessions: no app and noReset on the installed build; clear runs pm clear via clearApp", () => {
    const android = new AndroidPlatform(sdk);
    const app = { package: "run.qgjob.demo", activity: "run.qgjob.demo.Main" };
    const ports = { systemPort: 8201, wdaLocalPort: 8101 };
    const kept = android.capabilities("emulator-5554", app, ports, null);
    expect(kept).toMatchObject({
      "appium:udid": "emulator-5554",
      "appium:systemPort": 8201,
      "appium:appPackage": "run.qgjob.demo",
      "appium:noReset": true,
    });
    expect(kept).not.toHaveProperty("appium:app");
    expect(kept).not.toHaveProperty("appium:fullReset");
    expect(android.capabilities("emulator-5554", app, ports, "/b/good.apk")).toMatchObject({
      "appium:app": "/b/good.apk",
      "appium:fullReset": true,
    });
    expect(android.beforeTest("clear", app).map((s) => s.script)).toEqual([
      "mobile: clearApp",
      "mobile: activateApp",
    ]);
    expect(android.beforeTest("none", app)).toEqual([]);
  });
});

describe("FakePlatform", () => {
  test("a fake app without a package is refused with the reason", async () => {
    const file = path.join(dir, "nopkg.apk");
    writeFileSync(file, "<app><MockButton id='x'/></app>");
    const err = await new FakePlatform(dir).appInfo(file).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `cannot read the package name of ${file}: no <app package="..."> in the fake app`,
    );
  });
});

describe("checkPortFree", () => {
  let busy: Server;
  beforeAll(() => new Promise<void>((r) => (busy = createServer().listen(0, "127.0.0.1", r))));
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  test("a port in use is one line naming it", async () => {
    const port = (busy.address() as { port: number }).port;
    const err = await checkPortFree(port).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AppiumError);
    expect((err as Error).message).toMatch(new RegExp(`^Appium port ${port} is in use`));
  });
});
