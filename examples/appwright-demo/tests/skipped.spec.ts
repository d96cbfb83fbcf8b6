import { test } from "appwright";

// Every test in this file is skipped.
test.skip("not on this device", async () => {});
