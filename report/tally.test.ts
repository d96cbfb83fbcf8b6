import { describe, expect, it } from "vitest";
import { fakeJob, passed } from "../api/testing.js";
import { formatTally, tally, tallyFromCounts } from "./tally.js";

describe("tally", () => {
  it("puts leased with running, and error and timed out with failed", () => {
    const t = tally([
      fakeJob({ status: "queued" }),
      fakeJob({ status: "leased" }),
      fakeJob({ status: "running" }),
      passed("a"),
      passed("b", { flaky: true }),
      fakeJob({ status: "failed" }),
      fakeJob({ status: "error" }),
      fakeJob({ status: "timed_out" }),
      fakeJob({ status: "cancelled" }),
    ]);
    expect(t).toEqual({
      total: 9,
      queued: 1,
      running: 2,
      passed: 2,
      failed: 3,
      quarantined: 0,
      flaky: 1,
      cancelled: 1,
    });
    expect(formatTally(t)).toBe(
      "1 queued · 2 running · 2 passed · 3 failed · 1 flaky · 1 cancelled",
    );
  });

  it("counts a quarantined test's failure apart from the failures", () => {
    const until = "2026-12-21T10:00:00.000Z";
    const t = tally([
      fakeJob({ status: "failed", quarantined_until: until }),
      fakeJob({ status: "timed_out", quarantined_until: until }),
      // An infrastructure error is not the test's failure: a quarantine does not excuse it.
      fakeJob({ status: "error", quarantined_until: until }),
      passed("a"),
    ]);
    expect(t).toMatchObject({ failed: 1, quarantined: 2, passed: 1 });
    expect(formatTally(t)).toBe(
      "0 queued · 0 running · 1 passed · 1 failed · 0 flaky · 2 quarantined",
    );
  });

  it("leaves cancelled out when there are none, and maps the server's counts the same way", () => {
    const t = tallyFromCounts({
      total: 6,
      queued: 3,
      leased: 1,
      running: 0,
      passed: 2,
      failed: 0,
      error: 0,
      cancelled: 0,
      timed_out: 0,
      flaky: 0,
      quarantined: 0,
    });
    expect(formatTally(t)).toBe("3 queued · 1 running · 2 passed · 0 failed · 0 flaky");
  });
});
