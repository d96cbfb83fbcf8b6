import { describe, expect, it } from "vitest";
import { newId } from "./ids.js";

describe("newId", () => {
  it("sorts in creation order, within one millisecond and across them", () => {
    const ids = [
      ...Array.from({ length: 1000 }, () => newId("job", 1_800_000_000_000)),
      ...Array.from({ length: 10 }, () => newId("job", 1_800_000_000_001)),
    ];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("has the shape cursors and URL parameters accept", () => {
    expect(newId("run")).toMatch(/^run_[0-9A-Z]{26}$/);
  });
});
