import { writeFileSync } from "node:fs";
import { test, expect } from "appwright";

// Two tests in one file: qgjob's job for this file fails because one of them fails.
test("first passes", async () => {
  expect([1, 2, 3]).toContain(2);
});

test("second fails with an attachment", async () => {
  const notes = test.info().outputPath("notes.txt");
  writeFileSync(notes, "what the test saw\n");
  await test.info().attach("notes", { path: notes, contentType: "text/plain" });
  expect({ screen: "home" }).toEqual({ screen: "login" });
});
