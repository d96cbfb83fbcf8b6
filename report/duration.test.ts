import { describe, expect, it } from "vitest";
import { formatClock, formatDuration } from "./duration.js";

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
