import { defineConfig } from "vitest/config";

/** `npm run test:faults`: crashes, stale agents, store properties and input fuzzing (test/faults). */
export default defineConfig({
  test: {
    // Builds what the end-to-end tests start (test/built.ts).
    globalSetup: ["test/built.ts"],
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    // The suites kill and start real processes; one file at a time keeps them inside their margins.
    fileParallelism: false,
  },
});
