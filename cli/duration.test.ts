import { describe, expect, it } from "vitest";
import { parseDuration, parseTimeoutOption } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["90", 90_000],
    ["2.5", 2500],
    ["90s", 90_000],
    ["2s", 2000],
    ["30m", 1_800_000],
    ["2h", 7_200_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["1.5m", 90_000],
    ["500ms", 500],
    [" 10M ", 600_000],
    ["0", 0],
  ])("%j is %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "m", "ten", "-5", "5 m", "5d", "1h 30m", "30min", "1e3", "5s5"])(
    "%j is not a duration",
    (text) => {
      expect(parseDuration(text)).toBeNull();
    },
  );
});

describe("parseTimeoutOption", () => {
  it("is undefined when not given and milliseconds when valid", () => {
    expect(parseTimeoutOption(undefined)).toBeUndefined();
    expect(parseTimeoutOption("2s")).toBe(2000);
  });

  it.each(["0", "0s", "soon"])("refuses %j as a usage error naming the flag", (text) => {
    expect(() => parseTimeoutOption(text, "--test-timeout")).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^--test-timeout: /) }),
    );
  });
});
