import type { RouteDeps } from "./deps.js";

/** Long polls re-read at least this often, in case a change was signalled elsewhere. */
const RECHECK_MS = 2000;

/**
 * Reads until `done` holds or `waitMs` passes, sleeping on a change-feed topic in between, and
 * answers the last read either way. Ends early when the client leaves or the server shuts down.
 * `response` is the raw ServerResponse: its `close` is what reports a client that went away (the
 * request's own `close` has already fired once its body was read). `recheck` authorises the caller
 * again after every wait: a token revoked meanwhile, or a server that left open mode, must not
 * be answered with data (a lease above all) on the strength of the first check.
 */
export async function longPoll<T>(
  deps: RouteDeps,
  response: { once(e: "close", f: () => void): unknown },
  waitMs: number,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  topic: (value: T) => string,
  recheck: () => Promise<void>,
): Promise<T> {
  const deadline = deps.clock() + waitMs;
  const signal = requestSignal(response, deps.shutdown);
  for (;;) {
    // Marked before the read: a change committed while it ran wakes the wait at once.
    const since = deps.store.changes.mark();
    const value = await read();
    const remaining = deadline - deps.clock();
    if (done(value) || remaining <= 0 || signal.aborted) return value;
    await deps.store.changes.wait(topic(value), Math.min(remaining, RECHECK_MS), signal, since);
    // A client that left while we waited must not be handed anything (a lease above all).
    if (signal.aborted) return value;
    await recheck();
  }
}

/** Aborts when the client goes away or the server shuts down; listeners go with the request. */
function requestSignal(
  raw: { once(e: "close", f: () => void): unknown },
  shutdown: AbortSignal,
): AbortSignal {
  const controller = new AbortController();
  // Let in before the server began closing, but reaching its poll after: it must not hold the
  // close for its whole wait (an abort event already sent is not sent again).
  if (shutdown.aborted) controller.abort();
  const abort = () => controller.abort();
  shutdown.addEventListener("abort", abort, { once: true });
  raw.once("close", () => {
    shutdown.removeEventListener("abort", abort);
    abort();
  });
  return controller.signal;
}
