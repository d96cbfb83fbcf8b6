import { test, expect } from "appwright";

// Never touches the `device` fixture: runs without an emulator.
test("adds numbers", async () => {
  expect(1 + 1).toBe(2);
});
