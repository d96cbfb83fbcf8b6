import { test, expect } from "appwright";

// Fails on purpose: qgjob's tests expect the failure at line 6 of this file.
test("compares strings", async () => {
  const greeting = "hello";
  expect(greeting).toBe("goodbye");
});
