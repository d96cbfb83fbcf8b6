import { test } from "appwright";

// Skipped on purpose: users skip tests (a device they lack, a known bug), and the agent must
// report such a file as passed-with-a-note, not as an error. This file produces the real
// Playwright report for that case (agent/runners/fixtures/capture-appwright.sh).
test.skip("not on this device", async () => {});
