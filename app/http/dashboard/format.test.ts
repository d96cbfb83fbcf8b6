import { describe, expect, it } from "vitest";
import { fakeRun } from "../../../api/testing.js";
import { countsText, duration, pathCode, statusLabel, time, triesText } from "./format.js";

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

  it("lets a test path wrap after a slash only", () => {
    const markup = (path: string) => pathCode(path).text.replace(/\s+>/g, ">");
    expect(markup("tests/a <b>/c.spec.ts")).toBe(
      '<code class="path"><span>tests/</span><span>a &lt;b&gt;/</span><span>c.spec.ts</span></code>',
    );
    expect(markup("flat.spec.ts")).toBe('<code class="path"><span>flat.spec.ts</span></code>');
  });

  it("counts tries and retries, not tries against a limit", () => {
    expect(triesText(0)).toBe("not tried");
    expect(triesText(1)).toBe("1 try");
    expect(triesText(2)).toBe("2 tries (1 retry)");
    expect(triesText(3)).toBe("3 tries (2 retries)");
  });
});
