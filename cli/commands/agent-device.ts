/**
 * `qgjob agent --udid ...`: the device session the AppWright runner gets its test sessions
 * from (agent/device). Checked at start, so a bad --udid, a port in use or a missing Appium is
 * one clear line and exit 2, never a lease that hangs.
 */
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { AppiumError, AppiumServer } from "../../agent/device/appium-server.js";
import {
  AndroidPlatform,
  DeviceError,
  FakePlatform,
  type BetweenTests,
  type DevicePlatform,
} from "../../agent/device/platforms.js";
import { DeviceSession } from "../../agent/device/session.js";
import { CliError, EXIT } from "../exit-codes.js";

export interface DeviceFlags {
  udid?: string;
  runner: string;
  projectDir: string;
  cacheDir: string;
  appiumPort: string;
  appiumHome?: string;
  appiumPlatform: "android" | "fake";
  betweenTests: BetweenTests;
  systemPort?: string;
  wdaLocalPort?: string;
}

function port(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new CliError(`${flag}: expected a port (1-65535), got '${text}'`, EXIT.usage);
  return n;
}

/** Appium's main script, from the AppWright project (AppWright depends on appium). */
function appiumMain(projectDir: string): string {
  try {
    const pkg = createRequire(join(projectDir, "package.json")).resolve("appium/package.json");
    return join(pkg, "..", "index.js");
  } catch {
    throw new CliError(
      `--udid: appium is not installed in ${projectDir} (run npm ci there)`,
      EXIT.usage,
    );
  }
}

export async function deviceSessionFrom(
  flags: DeviceFlags,
  onLine: (line: string) => void,
): Promise<DeviceSession | undefined> {
  if (flags.udid === undefined) return undefined;
  if (flags.runner !== "appwright")
    throw new CliError("--udid is for --runner appwright", EXIT.usage);
  const projectDir = resolve(flags.projectDir);
  const appiumPort = port("--appium-port", flags.appiumPort);
  // App version ids start with a letter or digit: ".devices" never collides with a build.
  const stateDir = join(flags.cacheDir, ".devices");
  const platform: DevicePlatform =
    flags.appiumPlatform === "fake" ? new FakePlatform(stateDir) : new AndroidPlatform();
  const session = new DeviceSession({
    platform,
    udid: flags.udid,
    betweenTests: flags.betweenTests,
    ports: {
      systemPort: flags.systemPort ? port("--system-port", flags.systemPort) : appiumPort + 3477,
      wdaLocalPort: flags.wdaLocalPort
        ? port("--wda-local-port", flags.wdaLocalPort)
        : appiumPort + 3377,
    },
    stateDir,
    onLine,
    appium: new AppiumServer({
      main: appiumMain(projectDir),
      port: appiumPort,
      driver: platform.driver,
      appiumHome: flags.appiumHome && resolve(flags.appiumHome),
      onLine,
    }),
  });
  try {
    await session.start();
  } catch (err) {
    await session.stop();
    if (err instanceof DeviceError || err instanceof AppiumError)
      throw new CliError(err.message, EXIT.usage);
    throw err;
  }
  return session;
}
