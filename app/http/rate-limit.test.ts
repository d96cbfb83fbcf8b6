import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./rate-limit.js";

describe("TokenBuckets", () => {
  it("lets a burst through at once, then refuses with the wait until the next request", () => {
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 });
    expect([0, 1, 2].map(() => buckets.take("tok_a", 1000))).toEqual([0, 0, 0]);
    expect(buckets.take("tok_a", 1000)).toBe(500);
    // Half a refill period later only half a request has come back.
    expect(buckets.take("tok_a", 1250)).toBe(250);
    expect(buckets.take("tok_a", 1500)).toBe(0);
    expect(buckets.take("tok_a", 1500)).toBe(500);
  });

  it("refills at the sustained rate and never above the burst", () => {
    const buckets = new TokenBuckets({ perSecond: 10, burst: 5 });
    for (let i = 0; i < 5; i++) buckets.take("tok_a", 0);
    // An hour idle is worth one burst, not 36,000 requests.
    const allowed = Array.from({ length: 8 }, () => buckets.take("tok_a", 3_600_000)).filter(
      (wait) => wait === 0,
    );
    expect(allowed).toHaveLength(5);
  });

  it("keeps one bucket per caller", () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 });
    expect(buckets.take("tok_a", 0)).toBe(0);
    expect(buckets.take("tok_a", 0)).toBe(1000);
    expect(buckets.take("tok_b", 0)).toBe(0);
  });

  it("does not drain a bucket when the clock steps back", () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 2 });
    expect(buckets.take("tok_a", 10_000)).toBe(0);
    expect(buckets.take("tok_a", 5_000)).toBe(0);
    expect(buckets.take("tok_a", 5_000)).toBe(1000);
  });

  it("allows everything when the rate is 0 (limit off)", () => {
    const buckets = new TokenBuckets({ perSecond: 0, burst: 1 });
    expect(buckets.enabled).toBe(false);
    expect(Array.from({ length: 100 }, () => buckets.take("tok_a", 0)).every((w) => w === 0)).toBe(
      true,
    );
  });

  it("forgets idle callers whose bucket has refilled once many are tracked", () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 2 });
    for (let i = 0; i < 9_999; i++) buckets.take(`ip:${i}`, 0);
    buckets.take("busy", 0);
    buckets.take("busy", 0);
    expect(buckets.size).toBe(10_000);
    // A second later the idle callers are full again and dropped; the busy one is still owed.
    buckets.take("late", 1000);
    expect(buckets.size).toBe(2);
    expect(buckets.take("busy", 1000)).toBe(0);
    expect(buckets.take("busy", 1000)).toBe(1000);
  });
});
