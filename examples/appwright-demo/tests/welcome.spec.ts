import { test, expect } from "appwright";

// Passes. Sorted after slow.spec.ts (Playwright runs files in path order), so qgjob's tests
// can stop the slow job and see this one run in a fresh invocation.
test("greets", async () => {
  expect("welcome".length).toBe(7);
});
