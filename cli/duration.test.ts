import { describe, expect, it } from "vitest";
import { formatClock, formatDuration, parseDuration, parseTimeoutOption } from "./duration.js";

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

describe("formatDuration and formatClock", () => {
  it.each([
    [850, "850ms"],
    [4200, "4.2s"],
    [59_940, "59.9s"],
    [59_960, "1m00s"],
    [65_000, "1m05s"],
    [3_720_000, "1h02m"],
  ])("formatDuration(%i) is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([
    [0, "00:00"],
    [12_900, "00:12"],
    [3_599_000, "59:59"],
    [3_723_000, "1:02:03"],
    [-5, "00:00"],
  ])("formatClock(%i) is %s", (ms, text) => {
    expect(formatClock(ms)).toBe(text);
  });
});
