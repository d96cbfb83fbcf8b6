/**
 * What differs between the devices an agent can own: how a build's package name is read, how a
 * device is checked and an app installed, and the capabilities of a session on the installed app.
 *
 * - `android` (UiAutomator2; AppWright's `emulator` and `local-device` on Android): `aapt dump
 *   badging` from the SDK's newest build-tools, `adb -s <udid> get-state`, `adb -s <udid> install
 *   -r -g`, state cleared between tests with `mobile: clearApp` (UiAutomator2 runs `pm clear`).
 * - `fake` (`@appium/fake-driver`, what qgjob's tests use): the build is the fake driver's XML
 *   app, a device is a directory, installing copies the build into it, and each session loads
 *   the installed copy. The fake driver builds its app model anew for every session, so `clear`
 *   has nothing left to do, and it insists on the `app` capability (its app is a file it
 *   reads, not an install): the installed copy is passed, never the lease's build.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export type BetweenTests = "clear" | "none" | "reinstall";
export const BETWEEN_TESTS: readonly BetweenTests[] = ["clear", "none", "reinstall"];

/** A device problem the lease cannot get past: its jobs are infrastructure errors. */
export class DeviceError extends Error {}

export interface AppInfo {
  package: string;
  activity?: string;
}

export interface SessionPorts {
  /** UiAutomator2's port on the host for its device server (8200 by default). */
  systemPort: number;
  /** XCUITest's WebDriverAgent port (8100 by default). */
  wdaLocalPort: number;
}

export interface BeforeTestStep {
  script: string;
  args: Record<string, unknown>;
}

export interface DevicePlatform {
  readonly name: string;
  /** The Appium driver the agent's server loads. */
  readonly driver: string;
  appInfo(buildPath: string): Promise<AppInfo>;
  /** Throws a DeviceError naming the udid when no device answers to it. */
  checkDevice(udid: string): Promise<void>;
  install(udid: string, buildPath: string, app: AppInfo): Promise<void>;
  /** A session's capabilities: on the installed app, or (reinstall) installing `buildPath`. */
  capabilities(
    udid: string,
    app: AppInfo,
    ports: SessionPorts,
    reinstallFrom: string | null,
  ): Record<string, unknown>;
  beforeTest(policy: BetweenTests, app: AppInfo): BeforeTestStep[];
}

const lastLine = (text: string) => text.trim().split("\n").pop() ?? "";

async function run(file: string, args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await execFileP(file, args, { timeout: 300_000, maxBuffer: 8 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new DeviceError(`${what}: ${lastLine(e.stderr || e.stdout || e.message)}`);
  }
}

/** adb and aapt as the Android SDK at ANDROID_HOME has them (adb also from PATH). */
export class AndroidPlatform implements DevicePlatform {
  readonly name = "android";
  readonly driver = "uiautomator2";

  constructor(private readonly sdk = process.env.ANDROID_HOME ?? "") {}

  get adb(): string {
    const inSdk = path.join(this.sdk, "platform-tools", "adb");
    return this.sdk && existsSync(inSdk) ? inSdk : "adb";
  }

  /** The newest build-tools' aapt (what AppWright uses to read the package name). */
  get aapt(): string {
    const dir = path.join(this.sdk, "build-tools");
    const versions = existsSync(dir)
      ? readdirSync(dir).filter((v) => /^\d+\.\d+\.\d+/.test(v))
      : [];
    versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    if (versions.length === 0)
      throw new DeviceError(`no Android build-tools under ${dir}: cannot read the build's package`);
    return path.join(dir, versions.at(-1)!, "aapt");
  }

  async appInfo(buildPath: string): Promise<AppInfo> {
    const out = await run(
      this.aapt,
      ["dump", "badging", buildPath],
      `cannot read the package name of ${buildPath}`,
    );
    const pkg = /package: name='([^']+)'/.exec(out)?.[1];
    if (!pkg)
      throw new DeviceError(`cannot read the package name of ${buildPath}: aapt printed none`);
    return { package: pkg, activity: /launchable-activity: name='([^']+)'/.exec(out)?.[1] };
  }

  async checkDevice(udid: string): Promise<void> {
    const state = await run(
      this.adb,
      ["-s", udid, "get-state"],
      `no device answers to --udid ${udid}`,
    );
    if (state.trim() !== "device")
      throw new DeviceError(`device ${udid} is ${state.trim() || "not ready"}, not online`);
  }

  async install(udid: string, buildPath: string): Promise<void> {
    await run(
      this.adb,
      ["-s", udid, "install", "-r", "-g", buildPath],
      `adb install on ${udid} failed`,
    );
  }

  capabilities(udid: string, app: AppInfo, ports: SessionPorts, reinstallFrom: string | null) {
    return {
      platformName: "Android",
      "appium:automationName": "UiAutomator2",
      "appium:udid": udid,
      "appium:systemPort": ports.systemPort,
      "appium:appPackage": app.package,
      ...(app.activity ? { "appium:appActivity": app.activity } : {}),
      "appium:autoGrantPermissions": true,
      ...(reinstallFrom
        ? { "appium:app": reinstallFrom, "appium:fullReset": true }
        : { "appium:noReset": true }),
    };
  }

  beforeTest(policy: BetweenTests, app: AppInfo): BeforeTestStep[] {
    if (policy !== "clear") return [];
    return [
      { script: "mobile: clearApp", args: { appId: app.package } },
      { script: "mobile: activateApp", args: { appId: app.package } },
    ];
  }
}

/** `@appium/fake-driver`: a device is a directory under `root`, its app an XML file. */
export class FakePlatform implements DevicePlatform {
  readonly name = "fake";
  readonly driver = "fake";

  constructor(private readonly root: string) {}

  installedPath(udid: string, app: AppInfo): string {
    return path.join(this.root, udid, `${app.package}.xml`);
  }

  async appInfo(buildPath: string): Promise<AppInfo> {
    let xml: string;
    try {
      xml = await readFile(buildPath, "utf8");
    } catch (err) {
      throw new DeviceError(
        `cannot read the package name of ${buildPath}: ${(err as Error).message}`,
      );
    }
    const pkg = /<app\b[^>]*\spackage="([^"]+)"/.exec(xml)?.[1];
    if (!pkg)
      throw new DeviceError(
        `cannot read the package name of ${buildPath}: no <app package="..."> in the fake app`,
      );
    return { package: pkg };
  }

  async checkDevice(udid: string): Promise<void> {
    if (!existsSync(path.join(this.root, udid)))
      throw new DeviceError(
        `no device answers to --udid ${udid} (no ${path.join(this.root, udid)})`,
      );
  }

  async install(udid: string, buildPath: string, app: AppInfo): Promise<void> {
    await mkdir(path.join(this.root, udid), { recursive: true });
    await copyFile(buildPath, this.installedPath(udid, app));
  }

  capabilities(udid: string, app: AppInfo, _ports: SessionPorts, reinstallFrom: string | null) {
    return {
      platformName: "Fake",
      "appium:automationName": "Fake",
      "appium:deviceName": udid,
      "appium:app": reinstallFrom ?? this.installedPath(udid, app),
      "appium:noReset": reinstallFrom === null,
    };
  }

  beforeTest(): BeforeTestStep[] {
    return [];
  }
}
