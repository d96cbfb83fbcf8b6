import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Builds what the end-to-end tests start (test/built.ts).
    globalSetup: ["test/built.ts"],
    include: ["**/*.test.ts"],
    // test/faults runs on its own: npm run test:faults (vitest.faults.config.ts).
    exclude: ["**/node_modules/**", "dist/**", "test/faults/**"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
