import { describe, expect, it } from "vitest";
import { gatherTopics, LocalChangeFeed, workTopics, workWait } from "./change-feed.js";

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

describe("work offers", () => {
  const emulator = (orgId: string | null, device: string | null = null) =>
    workWait({ target: "emulator", orgId, device });
  /** Parks polls and reports which ones a publish woke, in the order they were parked. */
  function park(feed: LocalChangeFeed, topics: string[]) {
    const woken = topics.map(() => false);
    const waits = topics.map((t, i) => feed.wait(t, 60_000).then((w) => (woken[i] = w)));
    return { woken, waits };
  }

  it("wakes at most as many polls as it has jobs, only polls that could take them", async () => {
    const feed = new LocalChangeFeed();
    const polls = park(feed, [
      emulator("acme"),
      workWait({ target: "browserstack", orgId: null, device: null }),
      emulator("globex"),
      emulator(null),
      emulator(null, "pixel-7"),
      emulator("acme"),
    ]);
    const job = { target: "emulator", orgId: "acme", device: null };
    for (const topic of workTopics([job, job])) feed.publish(topic);
    // A woken wait has resolved by the next turn of the event loop.
    await new Promise((r) => setImmediate(r));
    expect(polls.woken).toEqual([true, false, false, true, false, false]);

    // A job pinned to a device wakes that device's poll only.
    for (const t of workTopics([{ ...job, device: "pixel-7" }])) feed.publish(t);
    await new Promise((r) => setImmediate(r));
    expect(polls.woken).toEqual([true, false, false, true, true, false]);

    // Plain "work" (a listener back from a lost connection) wakes every poll still parked.
    feed.publish("work");
    await Promise.all(polls.waits);
    expect(polls.woken).toEqual([true, true, true, true, true, true]);
  });

  it("wakes a plain work wait for any offer, and a poll that read before the offer at once", async () => {
    const feed = new LocalChangeFeed();
    const since = feed.mark();
    const plain = feed.wait("work", 60_000);
    for (const t of workTopics([{ target: "emulator", orgId: "acme", device: null }])) {
      feed.publish(t);
    }
    expect(await plain).toBe(true);
    expect(await feed.wait(emulator("acme"), 60_000, undefined, since)).toBe(true);
    expect(
      await feed.wait(
        workWait({ target: "browserstack", orgId: null, device: null }),
        20,
        undefined,
        since,
      ),
    ).toBe(false);
  });

  it("adds up the offers gathered for one NOTIFY, so two one-job submissions wake two polls", async () => {
    const feed = new LocalChangeFeed();
    const polls = park(feed, [emulator("acme"), emulator("acme"), emulator("acme")]);
    const one = workTopics([{ target: "emulator", orgId: "acme", device: null }]);
    const gathered = gatherTopics([...one, "run:1", ...one, "run:1"]);
    expect(gathered.filter((t) => t === "run:1")).toHaveLength(1);
    for (const topic of gathered) feed.publish(topic);
    await new Promise((r) => setImmediate(r));
    expect(polls.woken).toEqual([true, true, false]);
    feed.publish("work");
    await Promise.all(polls.waits);
  });

  it("answers a woken poll after the publishing request's own continuation, and counts it as taken at once", async () => {
    const feed = new LocalChangeFeed();
    const order: string[] = [];
    const polls = park(feed, [emulator(null), emulator(null)]);
    void polls.waits[0]!.then(() => order.push("poll answered"));
    const job = { target: "emulator", orgId: "acme", device: null };
    // A submission publishes its job, then its route goes on to write the reply (a few awaits).
    const submission = (async () => {
      for (const topic of workTopics([job])) feed.publish(topic);
      for (let i = 0; i < 10; i++) await null;
      order.push("reply written");
    })();
    // A second one-job submission in the same turn wakes the other poll, not the first again.
    for (const topic of workTopics([job])) feed.publish(topic);
    await submission;
    await Promise.all(polls.waits);
    expect(order).toEqual(["reply written", "poll answered"]);
    expect(polls.woken).toEqual([true, true]);
  });
});
