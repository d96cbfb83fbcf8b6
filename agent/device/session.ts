/**
 * The device an agent owns: its Appium server (kept across leases, restarted when it died), the
 * driver (checked once), and the apps installed on it. A build is installed once per (device,
 * app version, build hash): the device's record (`<stateDir>/device-<udid>.json`) says which
 * build of each package it holds, and a lease whose build matches installs nothing, whatever its
 * `install` flag says. What the record holds is what the agent reports to the scheduler as
 * installed (not what the server granted).
 *
 * `prepare()` runs once per lease, before the first test, and answers what every test session
 * needs (DeviceSessionSpec, handed to agent/runners/appwright/device-fixture.ts in
 * QGJOB_DEVICE_SESSION).
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readFileSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import path from "node:path";
import { AppiumError, type AppiumServer } from "./appium-server.js";
import {
  DeviceError,
  type AppInfo,
  type BeforeTestStep,
  type BetweenTests,
  type DevicePlatform,
  type SessionPorts,
} from "./platforms.js";

export interface DeviceSessionOptions {
  platform: DevicePlatform;
  appium: AppiumServer;
  udid: string;
  betweenTests: BetweenTests;
  ports: SessionPorts;
  /** Where the device's record is kept (the agent's cache dir). */
  stateDir: string;
  onLine?: (line: string) => void;
}

export interface DeviceSessionSpec {
  hostname: string;
  port: number;
  capabilities: Record<string, unknown>;
  beforeTest: BeforeTestStep[];
  statsFile: string;
  bundleId?: string;
}

interface InstalledApp {
  appVersionId: string;
  sha256: string;
  installedAt: number;
}

interface DeviceRecord {
  udid: string;
  /** package -> the build on the device. */
  apps: Record<string, InstalledApp>;
}

export interface PrepareInput {
  appVersionId: string;
  buildPath: string | null;
  /** The lease's flag: the server expects this device to install the build. */
  install: boolean;
}

export interface Prepared {
  spec: DeviceSessionSpec;
  installed: boolean;
  installMs: number;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class DeviceSession {
  /** Counters the runner adds to its own (logged per lease). */
  readonly stats = { installs: 0, installMs: 0 };
  private readonly recordFile: string;
  private record: DeviceRecord;

  constructor(private readonly opts: DeviceSessionOptions) {
    this.recordFile = path.join(opts.stateDir, `device-${opts.udid.replace(/[^\w.-]/g, "_")}.json`);
    this.record = this.load();
  }

  get appium(): AppiumServer {
    return this.opts.appium;
  }

  private load(): DeviceRecord {
    try {
      const rec = JSON.parse(readFileSync(this.recordFile, "utf8")) as DeviceRecord;
      if (rec.udid === this.opts.udid && rec.apps) return rec;
    } catch {
      // none yet, or unreadable: the device is treated as holding nothing
    }
    return { udid: this.opts.udid, apps: {} };
  }

  private async save() {
    mkdirSync(this.opts.stateDir, { recursive: true });
    const tmp = `${this.recordFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.record, null, 2));
    await rename(tmp, this.recordFile);
  }

  /** App versions on the device, most recently installed first (the agent registers these). */
  installedVersions(): string[] {
    return Object.values(this.record.apps)
      .sort((a, b) => b.installedAt - a.installedAt)
      .map((a) => a.appVersionId);
  }

  /**
   * At agent start: the device answers, the driver is there, Appium is up. Throws one clear
   * DeviceError / AppiumError (bad --udid, port in use) instead of failing leases later.
   */
  async start(): Promise<void> {
    await this.opts.platform.checkDevice(this.opts.udid);
    await this.opts.appium.ensure();
  }

  stop(): Promise<void> {
    return this.opts.appium.stop();
  }

  /** Before a lease's first test: Appium up, the build installed unless the device has it. */
  async prepare(input: PrepareInput, statsFile: string): Promise<Prepared> {
    const { platform, udid, betweenTests } = this.opts;
    if (!input.buildPath)
      throw new DeviceError("the device session needs the build: give the agent --build");
    try {
      if (!this.opts.appium.running) {
        this.opts.onLine?.("starting Appium");
        await this.opts.appium.ensure();
      }
    } catch (err) {
      if (err instanceof AppiumError) throw new DeviceError(err.message);
      throw err;
    }
    const app = await platform.appInfo(input.buildPath);
    let installed = false;
    const started = Date.now();
    if (betweenTests !== "reinstall") installed = await this.installIfNeeded(input, app);
    const installMs = installed ? Date.now() - started : 0;
    const reinstallFrom = betweenTests === "reinstall" ? input.buildPath : null;
    return {
      installed,
      installMs,
      spec: {
        hostname: "127.0.0.1",
        port: this.opts.appium.port,
        capabilities: platform.capabilities(udid, app, this.opts.ports, reinstallFrom),
        beforeTest: platform.beforeTest(betweenTests, app),
        statsFile,
        bundleId: app.package,
      },
    };
  }

  private async installIfNeeded(input: PrepareInput, app: AppInfo): Promise<boolean> {
    const sha256 = await sha256File(input.buildPath!);
    const have = this.record.apps[app.package];
    if (have && have.sha256 === sha256 && have.appVersionId === input.appVersionId) {
      if (input.install)
        this.opts.onLine?.(
          `${input.appVersionId} (${sha256.slice(0, 12)}) is already on ${this.opts.udid}: not installing`,
        );
      return false;
    }
    if (!input.install)
      this.opts.onLine?.(
        `the server thought ${input.appVersionId} was on ${this.opts.udid}; it is not: installing`,
      );
    const started = Date.now();
    await this.opts.platform.install(this.opts.udid, input.buildPath!, app);
    this.stats.installs++;
    this.stats.installMs += Date.now() - started;
    this.record.apps[app.package] = {
      appVersionId: input.appVersionId,
      sha256,
      installedAt: Date.now(),
    };
    await this.save();
    return true;
  }
}
