import { defineConfig, Platform } from "appwright";

/**
 * qgjob's agent passes the build it resolved for the lease in QGJOB_BUILD_PATH. Without it
 * (running by hand), the fallbacks below are used.
 * AppWright's defineConfig drops the top-level `use` (all but expectTimeout): platform,
 * device and buildPath must sit under each project's `use`.
 */
const buildPath = (fallback: string) => process.env.QGJOB_BUILD_PATH || fallback;

export default defineConfig({
  testDir: "./tests",
  projects: [
    {
      name: "android-emu",
      use: {
        platform: Platform.ANDROID,
        device: { provider: "emulator", name: process.env.QGJOB_DEVICE_NAME || "Pixel_7" },
        buildPath: buildPath("builds/app-release.apk"),
      },
    },
    {
      name: "browserstack",
      use: {
        platform: Platform.ANDROID,
        device: {
          provider: "browserstack",
          name: process.env.QGJOB_DEVICE_NAME || "Google Pixel 8",
          osVersion: process.env.QGJOB_OS_VERSION || "14.0",
        },
        buildPath: buildPath("builds/app-release.apk"),
      },
    },
  ],
});
