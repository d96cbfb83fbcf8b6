import { describe, expect, it } from "vitest";
import { decayUsage, ewma, expectedDuration } from "./usage.js";

const MINUTE = 60_000;
const HALF_LIFE = 15 * MINUTE;

describe("decayUsage: recent device time counts more than old", () => {
  it.each([
    {
      name: "halves after one half-life",
      usage: 40 * MINUTE,
      elapsed: HALF_LIFE,
      expected: 20 * MINUTE,
    },
    {
      name: "quarters after two half-lives",
      usage: 40 * MINUTE,
      elapsed: 2 * HALF_LIFE,
      expected: 10 * MINUTE,
    },
    {
      name: "keeps ~71% after half a half-life",
      usage: 100,
      elapsed: HALF_LIFE / 2,
      expected: 100 / Math.SQRT2,
    },
    {
      name: "is unchanged when no time has passed",
      usage: 40 * MINUTE,
      elapsed: 0,
      expected: 40 * MINUTE,
    },
    {
      name: "is unchanged when the clock went backwards",
      usage: 40 * MINUTE,
      elapsed: -MINUTE,
      expected: 40 * MINUTE,
    },
    {
      name: "an org that used nothing still has used nothing",
      usage: 0,
      elapsed: HALF_LIFE,
      expected: 0,
    },
  ])("$name", ({ usage, elapsed, expected }) => {
    expect(decayUsage(usage, elapsed, HALF_LIFE)).toBeCloseTo(expected, 6);
  });
});

describe("ewma: a test's expected run time follows its runs", () => {
  it.each([
    {
      name: "the first run is the estimate",
      previous: null,
      sample: 90_000,
      alpha: 0.3,
      expected: 90_000,
    },
    {
      name: "a slower run moves it up by alpha of the gap",
      previous: 100_000,
      sample: 200_000,
      alpha: 0.3,
      expected: 130_000,
    },
    {
      name: "a faster run moves it down by alpha of the gap",
      previous: 100_000,
      sample: 0,
      alpha: 0.3,
      expected: 70_000,
    },
    {
      name: "the same run time leaves it unchanged",
      previous: 100_000,
      sample: 100_000,
      alpha: 0.3,
      expected: 100_000,
    },
    {
      name: "alpha 1 forgets the history",
      previous: 100_000,
      sample: 200_000,
      alpha: 1,
      expected: 200_000,
    },
  ])("$name", ({ previous, sample, alpha, expected }) => {
    expect(ewma(previous, sample, alpha)).toBeCloseTo(expected, 6);
  });
});

describe("expectedDuration: unknown tests get the default", () => {
  it.each([
    { name: "a never-run test takes the default", ewmaMs: null, expected: 60_000 },
    { name: "a known test takes its average", ewmaMs: 12_345, expected: 12_345 },
    { name: "a known instant test stays instant", ewmaMs: 0, expected: 0 },
  ])("$name", ({ ewmaMs, expected }) => {
    expect(expectedDuration(ewmaMs, { defaultTestMs: 60_000 })).toBe(expected);
  });
});
