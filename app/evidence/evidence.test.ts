/** Signed links and Content-Disposition: the download route's pure parts. */
import { describe, expect, it } from "vitest";
import type { QgjobError } from "../errors.js";
import { disposition } from "./evidence.js";
import { LinkSigner } from "./links.js";

const code = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return (err as QgjobError).code;
  }
};

describe("LinkSigner", () => {
  const links = new LinkSigner("a shared secret");
  const now = Date.UTC(2026, 11, 1);

  it("opens the job it was signed for until it expires", () => {
    const sig = links.sign("job_1", now + 60_000);
    expect(code(() => links.verify("job_1", sig, now))).toBe("ok");
    expect(code(() => links.verify("job_1", sig, now + 61_000))).toBe("link_expired");
  });

  it("refuses another job's link, a forged one, and one from a server with another key", () => {
    const sig = links.sign("job_1", now + 60_000);
    expect(code(() => links.verify("job_2", sig, now))).toBe("unauthorized");
    expect(
      code(() =>
        links.verify("job_1", `${Math.floor(now / 1000) + 9999}.${sig.split(".")[1]}`, now),
      ),
    ).toBe("unauthorized");
    expect(code(() => links.verify("job_1", "garbage", now))).toBe("unauthorized");
    expect(code(() => new LinkSigner("other").verify("job_1", sig, now))).toBe("unauthorized");
  });
});

describe("disposition", () => {
  it("shows screenshots, videos and logs inline and downloads anything a browser could run", () => {
    expect(disposition("shots/failed.png", "image/png")).toBe(
      `inline; filename="failed.png"; filename*=UTF-8''failed.png`,
    );
    expect(disposition("video.webm", "video/webm")).toMatch(/^inline;/);
    expect(disposition("page.html", "text/html")).toMatch(/^attachment;/);
    expect(disposition("x.svg", "image/svg+xml")).toMatch(/^attachment;/);
  });

  it("keeps quotes and non-ASCII out of the plain filename", () => {
    expect(disposition('a"b\\ü.txt', "text/plain")).toBe(
      `inline; filename="a_b__.txt"; filename*=UTF-8''a%22b%5C%C3%BC.txt`,
    );
  });
});
