/**
 * The AppWright runner's side of a device the agent owns, for one lease: the build installed
 * (DeviceSession.prepare), then for each invocation the tsconfig that maps `appwright` to
 * ./appwright/device-fixture (Playwright's `--tsconfig`), the environment the fixture reads, and
 * the sessions the fixture recorded. A test that failed while Appium died under it is an
 * infrastructure error, not a test failure; so is a session Appium would not open.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DeviceError } from "../device/platforms.js";
import type { DeviceSession, Prepared } from "../device/session.js";
import type { BuildInfo, TestOutcome } from "./runner.js";

/** What device-fixture.ts puts before a session error, so the runner can tell it from a test's. */
export const SESSION_ERROR_MARK = "[qgjob device]";

/** The fixture module next to this one: .ts from the sources, .js from dist/. */
export function deviceFixturePath(): string {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here) || ".js";
  return path.join(path.dirname(here), "appwright", `device-fixture${ext}`);
}

export class DeviceLease {
  private readShown = 0;

  private constructor(
    private readonly device: DeviceSession,
    private readonly dir: string,
    readonly prepared: Prepared,
  ) {}

  /** Installs the build unless the device has it; a device problem comes back as the message. */
  static async prepare(
    device: DeviceSession,
    build: BuildInfo,
    onLine?: (line: string) => void,
  ): Promise<DeviceLease | string> {
    const dir = await mkdtemp(path.join(tmpdir(), "qgjob-device-"));
    try {
      const prepared = await device.prepare(
        { appVersionId: build.appVersionId, buildPath: build.buildPath, install: build.install },
        path.join(dir, "sessions.jsonl"),
      );
      onLine?.(
        `[qgjob device] ${build.appVersionId}: ${prepared.installed ? `installed in ${prepared.installMs} ms` : "already installed"}`,
      );
      return new DeviceLease(device, dir, prepared);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      if (err instanceof DeviceError) return `device setup failed: ${err.message}`;
      throw err;
    }
  }

  appiumDeaths(): number {
    return this.device.appium.deaths;
  }

  /** A tsconfig for Playwright's --tsconfig: the project's own (if any) plus the mapping. */
  async tsconfig(invocationDir: string, projectDir: string): Promise<string> {
    const own = path.join(projectDir, "tsconfig.json");
    const file = path.join(invocationDir, "tsconfig.qgjob.json");
    const config = {
      ...(existsSync(own) ? { extends: own } : {}),
      compilerOptions: { baseUrl: projectDir, paths: { appwright: [deviceFixturePath()] } },
    };
    await writeFile(file, JSON.stringify(config, null, 2));
    return file;
  }

  env(projectDir: string): Record<string, string> {
    return {
      QGJOB_PROJECT_DIR: projectDir,
      QGJOB_DEVICE_SESSION: JSON.stringify(this.prepared.spec),
    };
  }

  /** Sessions opened since the last call, and their setup time. */
  readSessions(): { count: number; ms: number } {
    let lines: string[] = [];
    try {
      lines = readFileSync(this.prepared.spec.statsFile, "utf8").split("\n").filter(Boolean);
    } catch {
      // no session yet
    }
    const fresh = lines.slice(this.readShown);
    this.readShown = lines.length;
    let ms = 0;
    for (const line of fresh) ms += (JSON.parse(line) as { ms: number }).ms;
    return { count: fresh.length, ms };
  }

  /** A failure because Appium died or would not open a session is the device's, not the test's. */
  classify(outcome: TestOutcome, deathsBefore: number): TestOutcome {
    if (outcome.status !== "failed" && outcome.status !== "timed_out") return outcome;
    if (this.device.appium.deaths > deathsBefore) {
      return {
        ...outcome,
        status: "error",
        message: `the Appium server died during the test (restarted for the next lease): ${outcome.message ?? ""}`,
      };
    }
    if (outcome.message?.includes(SESSION_ERROR_MARK)) return { ...outcome, status: "error" };
    return outcome;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
