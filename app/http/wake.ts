import type { ChangeFeed } from "../store/store.js";

/**
 * Sleeps until any of the topics fires, `timeoutMs` passes or `signal` aborts; true when a topic
 * fired. The change feed waits on one topic at a time; a lease's jobs can belong to several runs.
 */
export async function waitAny(
  feed: ChangeFeed,
  topics: Iterable<string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const done = new AbortController();
  const both = AbortSignal.any([signal, done.signal]);
  const waits = [...new Set(topics)].map((t) =>
    feed.wait(t, timeoutMs, both).then((fired) => (fired ? true : Promise.race([]))),
  );
  const timeout = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    both.addEventListener("abort", () => (clearTimeout(timer), resolve(false)), { once: true });
  });
  try {
    return await Promise.race([...waits, timeout]);
  } finally {
    done.abort();
  }
}
