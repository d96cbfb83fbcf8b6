/**
 * What AppWright's emulator provider needs before it runs even a device-free test: the example
 * project installed, an Android SDK whose `emulator -list-avds` names an AVD, JAVA_HOME, and an
 * existing build file. The SDK here is a stub; no device session is ever opened.
 */
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";

export const EXAMPLE_DIR = join(import.meta.dirname, "../examples/appwright-demo");

export function installExamples() {
  try {
    execFileSync(join(import.meta.dirname, "../scripts/install-examples.sh"), {
      stdio: "pipe",
      timeout: 280_000,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(
      `scripts/install-examples.sh failed: AppWright tests need examples/appwright-demo installed.\n${e.stderr?.toString() ?? e.message}`,
    );
  }
}

export interface StubAndroid {
  env: { ANDROID_HOME: string; JAVA_HOME: string };
  /** An empty build file AppWright accepts as the app to install. */
  apk: string;
  dir: string;
  remove(): void;
}

export function stubAndroid(): StubAndroid {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-android-"));
  mkdirSync(join(dir, "sdk", "emulator"), { recursive: true });
  const emulator = join(dir, "sdk", "emulator", "emulator");
  writeFileSync(emulator, "#!/bin/sh\necho Pixel_7\n");
  chmodSync(emulator, 0o755);
  const apk = join(dir, "app.apk");
  writeFileSync(apk, "");
  return {
    env: { ANDROID_HOME: join(dir, "sdk"), JAVA_HOME: dir },
    apk,
    dir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A copy of the example project in `dir` (its node_modules linked, not copied): the config,
 * every test file, and `files` on top (path relative to the project -> contents, or `from:` a
 * file, relative to the example or absolute). Tests use it for files the example should not ship.
 */
export function exampleCopy(dir: string, files: Record<string, string> = {}): string {
  mkdirSync(join(dir, "tests"), { recursive: true });
  symlinkSync(join(EXAMPLE_DIR, "node_modules"), join(dir, "node_modules"));
  for (const f of ["package.json", "appwright.config.ts"])
    copyFileSync(join(EXAMPLE_DIR, f), join(dir, f));
  cpSync(join(EXAMPLE_DIR, "tests"), join(dir, "tests"), { recursive: true });
  for (const [path, contents] of Object.entries(files)) {
    const from = /^from:(.*)$/.exec(contents);
    if (from) copyFileSync(resolve(EXAMPLE_DIR, from[1]!), join(dir, path));
    else writeFileSync(join(dir, path), contents);
  }
  return dir;
}

/** A spec whose every test is skipped (a fixture: the example does not ship one). */
export const SKIPPED_SPEC = join(import.meta.dirname, "../agent/runners/fixtures/skipped.spec.txt");

/** A port nothing listens on right now (for an agent's Appium server). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
