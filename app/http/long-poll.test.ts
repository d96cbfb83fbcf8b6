import { EventEmitter } from "node:events";
import { expect, it } from "vitest";
import { LocalChangeFeed } from "../store/change-feed.js";
import type { RouteDeps } from "./deps.js";
import { longPoll } from "./long-poll.js";

it("answers its first read at once when the server began closing before the poll started", async () => {
  const shutdown = new AbortController();
  shutdown.abort();
  const deps = {
    store: { changes: new LocalChangeFeed() },
    clock: Date.now,
    shutdown: shutdown.signal,
  } as unknown as RouteDeps;
  let reads = 0;
  const answer = await longPoll(
    deps,
    new EventEmitter(),
    5_000,
    async () => ++reads,
    () => false,
    () => "work",
    async () => undefined,
  );
  // Held, it would have read again at each recheck until the 5 s ran out.
  expect({ answer, reads }).toEqual({ answer: 1, reads: 1 });
});
