import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Builds what the end-to-end tests start (test/built.ts).
    globalSetup: ["test/built.ts"],
    include: ["**/*.test.ts"],
    // test/faults runs on its own: npm run test:faults (vitest.faults.config.ts).
    exclude: ["**/node_modules/**", "dist/**", "test/faults/**"],
    // Timeouts catch a hang, they do not measure speed: CI's two cores, shared by spawned servers,
    // agents and Playwright, can make a 10 s test take 30.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
