/**
 * What AppWright's emulator provider needs before it runs even a device-free test: the example
 * project installed, an Android SDK whose `emulator -list-avds` names an AVD, JAVA_HOME, and an
 * existing build file. The SDK here is a stub; no device session is ever opened.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
