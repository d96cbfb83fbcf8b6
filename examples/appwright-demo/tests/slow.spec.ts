import { test } from "appwright";

// Waits QGJOB_SLOW_MS (60 s by default): qgjob's tests cancel it or let it time out.
test("waits a long time", async () => {
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.QGJOB_SLOW_MS || 60_000)));
});
