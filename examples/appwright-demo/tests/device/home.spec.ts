import { test, expect } from "appwright";

// Device tests: each opens a session on the device through the `device` fixture. qgjob's tests
// run them on Appium's fake driver, whose "app" is builds/fake-app-*.apk (XML, named .apk for
// AppWright's emulator setup). Run through the agent (`qgjob agent --udid ...`).
test("taps the button and reads back what was typed", async ({ device }) => {
  await device.getByXpath("//MockButton[@id='greet']").tap();
  await device.getByXpath("//MockInputField[@id='name']").fill("Ada");
  expect(await device.getByXpath("//MockInputField[@id='name']").getText()).toBe("Ada");
});

test("starts from a clean app state", async ({ device }) => {
  // The previous test typed into this field; between tests the agent resets the app's state.
  expect(await device.getByXpath("//MockInputField[@id='name']").getText()).toBe("");
});
