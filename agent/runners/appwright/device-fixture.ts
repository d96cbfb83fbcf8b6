/**
 * What `import ... from "appwright"` resolves to in the tests the AppWright runner runs when the
 * agent owns the device: AppWright itself, with its `deviceProvider` fixture overridden by
 * Playwright's own `test.extend` for the `emulator` and `local-device` providers. The runner maps
 * the bare specifier `appwright` to this file with a generated tsconfig (`paths`) passed to
 * Playwright as `--tsconfig`, so neither the user's test files nor their config change.
 *
 * The agent's device session (agent/device/session.ts) has already started Appium, checked the
 * driver and installed the build; it passes what a test session needs in QGJOB_DEVICE_SESSION.
 * Each test then only opens a WebDriver session (no `app` capability, `noReset`), after the
 * state policy ran, and AppWright's own `device` fixture closes it after the test.
 * BrowserStack projects (and runs without QGJOB_DEVICE_SESSION) keep AppWright's provider.
 *
 * Loaded by Playwright from the sources (.ts) or dist/ (.js): node built-ins only; AppWright and
 * webdriver are resolved from the test project (QGJOB_PROJECT_DIR).
 */
import { appendFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** What the agent hands each test session (agent/device/session.ts, DeviceSessionSpec). */
interface SessionSpec {
  hostname: string;
  port: number;
  capabilities: Record<string, unknown>;
  /** `mobile:` scripts run in the new session before the test (the between-tests policy). */
  beforeTest: { script: string; args: Record<string, unknown> }[];
  /** Where each session's setup time is appended (one JSON line per session). */
  statsFile: string;
  bundleId?: string;
}

interface Project {
  use: { device?: { provider?: string }; expectTimeout?: number };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- AppWright's types live in the test project */
const projectDir = process.env.QGJOB_PROJECT_DIR ?? process.cwd();
const projectRequire = createRequire(path.join(projectDir, "package.json"));
const appwright = projectRequire("appwright") as Record<string, any>;
const spec = process.env.QGJOB_DEVICE_SESSION
  ? (JSON.parse(process.env.QGJOB_DEVICE_SESSION) as SessionSpec)
  : null;

const OWNED = new Set(["emulator", "local-device"]);

/** AppWright's DeviceProvider contract, on the agent's Appium server. */
class QgjobDeviceProvider {
  constructor(
    private readonly project: Project,
    private readonly s: SessionSpec,
  ) {}

  async getDevice() {
    const started = Date.now();
    // webdriver is AppWright's own dependency (ESM): resolve it from there.
    const fromAppwright = createRequire(projectRequire.resolve("appwright"));
    const WebDriver = (await import(pathToFileURL(fromAppwright.resolve("webdriver")).href))
      .default;
    let client: any;
    try {
      client = await WebDriver.newSession({
        hostname: this.s.hostname,
        port: this.s.port,
        logLevel: "warn",
        connectionRetryCount: 0,
        capabilities: this.s.capabilities,
      });
      for (const step of this.s.beforeTest) await client.executeScript(step.script, [step.args]);
    } catch (err) {
      // The mark tells the runner (SESSION_ERROR_MARK) this is the device's failure, not the test's.
      throw new Error(
        `[qgjob device] no session on Appium ${this.s.hostname}:${this.s.port}: ${(err as Error).message}`,
      );
    }
    appendFileSync(
      this.s.statsFile,
      `${JSON.stringify({ type: "session", ms: Date.now() - started, pid: process.pid })}\n`,
    );
    return new appwright.Device(
      client,
      this.s.bundleId,
      { expectTimeout: this.project.use.expectTimeout },
      this.project.use.device?.provider,
    );
  }
}

export const test = appwright.test.extend({
  deviceProvider: async (
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from it
    {},
    use: (p: unknown) => Promise<void>,
    testInfo: { project: Project },
  ) => {
    const provider = testInfo.project.use.device?.provider ?? "";
    if (spec && OWNED.has(provider)) {
      await use(new QgjobDeviceProvider(testInfo.project, spec));
      return;
    }
    const providers = projectRequire(
      path.join(path.dirname(projectRequire.resolve("appwright")), "providers"),
    );
    await use(providers.createDeviceProvider(testInfo.project));
  },
});
export const expect = appwright.expect;
export const defineConfig = appwright.defineConfig;
export const Device = appwright.Device;
export const Platform = appwright.Platform;
export const WebdriverErrors = appwright.WebdriverErrors;
