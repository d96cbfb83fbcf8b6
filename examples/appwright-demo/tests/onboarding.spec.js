import { test, expect } from "appwright";

// The file the seed's command names (`qgjob submit ... --test=tests/onboarding.spec.js`). Like
// the other examples it never touches the `device` fixture, so it runs without an emulator.
const steps = ["welcome", "permissions", "sign-in", "home"];

test("walks the onboarding steps in order", async () => {
  expect(steps[0]).toBe("welcome");
  expect(steps.at(-1)).toBe("home");
  expect(new Set(steps).size).toBe(steps.length);
});
