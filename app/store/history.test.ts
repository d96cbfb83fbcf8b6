import { describe, expect, it } from "vitest";
import { QgjobError } from "../errors.js";
import {
  decodeTestCursor,
  durationChange,
  encodeTestCursor,
  percentile,
  rates,
} from "./history.js";

describe("test history arithmetic", () => {
  it("takes nearest-rank percentiles", () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    expect(percentile([...Array(20).keys()], 95)).toBe(18);
  });

  it("leaves infrastructure errors out of the rates", () => {
    expect(rates("eeee")).toEqual({ flakeRate: 0, failureRate: 0 });
    expect(rates("pkfe")).toEqual({ flakeRate: 1 / 3, failureRate: 1 / 3 });
  });

  it("measures a change in duration once there are older and newer run times", () => {
    expect(durationChange(Array(19).fill(1000))).toBe(0);
    expect(durationChange([...Array(10).fill(1000), ...Array(10).fill(1500)])).toBe(500);
    expect(durationChange([...Array(30).fill(3000), ...Array(10).fill(2000)])).toBe(-1000);
  });

  it("round-trips its cursors and refuses others", () => {
    const id = "tst_01KAAAAAAAAAAAAAAAAAAAAAAA";
    expect(decodeTestCursor(encodeTestCursor(0.25, id))).toEqual({ value: 0.25, id });
    for (const bad of [
      "",
      "x",
      encodeTestCursor(Number.NaN, id),
      Buffer.from(`1 job_x`).toString("base64url"),
    ]) {
      expect(() => decodeTestCursor(bad)).toThrow(QgjobError);
    }
  });
});
