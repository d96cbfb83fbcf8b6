import { describe, expect, it } from "vitest";
import { LocalChangeFeed } from "./change-feed.js";

describe("LocalChangeFeed", () => {
  it("wakes a wait at once for a change published while the waiter was reading", async () => {
    const feed = new LocalChangeFeed();
    const since = feed.mark();
    // The long poll reads (nothing queued), a submission commits meanwhile, then it waits.
    feed.publish("work");
    expect(await feed.wait("work", 50, undefined, since)).toBe(true);
  });

  it("does not wake for changes before the mark, or on other topics", async () => {
    const feed = new LocalChangeFeed();
    feed.publish("work");
    const since = feed.mark();
    feed.publish("run:1");
    expect(await feed.wait("work", 20, undefined, since)).toBe(false);
    const waiting = feed.wait("work", 5_000, undefined, since);
    feed.publish("work");
    expect(await waiting).toBe(true);
  });
});
