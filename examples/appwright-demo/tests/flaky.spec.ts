import { test, expect } from "appwright";

// Fails on its first attempt, passes on the next. qgjob retries by running the file again
// in a new invocation with QGJOB_ATTEMPT=2, 3, ...; without it, Playwright's own retry
// counter is used (`--retries 1` in one invocation).
test("passes on retry", async () => {
  const attempt = Number(process.env.QGJOB_ATTEMPT || test.info().retry + 1);
  expect(attempt, "first attempt fails on purpose").toBeGreaterThan(1);
});
