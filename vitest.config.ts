import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    // test/faults runs on its own: npm run test:faults (vitest.faults.config.ts).
    exclude: ["**/node_modules/**", "dist/**", "test/faults/**"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
