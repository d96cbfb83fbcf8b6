import { describe, expect, it } from "vitest";
import { fakeRun } from "../../../api/testing.js";
import { countsText, duration, safeLink, statusLabel, time } from "./format.js";

describe("format", () => {
  it("labels a status with a word and a symbol, not colour alone", () => {
    const label = statusLabel("timed_out").text;
    expect(label).toContain("timed out");
    expect(label).toContain('class="status s-timed_out"');
    expect(label).toMatch(/aria-hidden="true">⧖</);
  });

  it("writes durations at a readable scale", () => {
    expect(duration(null)).toBe("–");
    expect(duration(850)).toBe("850ms");
    expect(duration(4200)).toBe("4.2s");
    expect(duration(185_000)).toBe("3m 05s");
    expect(duration(7_380_000)).toBe("2h 03m");
  });

  it("shows times in UTC with a machine-readable attribute", () => {
    expect(time("2026-11-21T20:26:31.123Z").text).toBe(
      '<time datetime="2026-11-21T20:26:31.123Z">2026-11-21 20:26:31Z</time>',
    );
    expect(time(null).text).toBe("–");
  });

  it("lists only the non-zero counts", () => {
    const { counts } = fakeRun([]);
    expect(countsText(counts)).toBe("no jobs");
    expect(countsText({ ...counts, passed: 3, failed: 1, timed_out: 2, flaky: 1 })).toBe(
      "3 passed · 1 failed · 2 timed out · 1 flaky",
    );
  });

  it("links only http(s) artifacts; anything else stays text", () => {
    expect(safeLink("https://bs.example/v.mp4", "video").text).toBe(
      '<a href="https://bs.example/v.mp4">video</a>',
    );
    const js = safeLink("javascript:alert(1)", "video").text;
    expect(js).not.toContain("<a");
    expect(js).toBe("video (javascript:alert(1))");
  });
});
