import type { Authenticator } from "./auth.js";
import type { Metrics } from "./metrics.js";
import type { Store } from "../store/store.js";

/** What route modules need from the composition root. */
export interface RouteDeps {
  store: Store;
  auth: Authenticator;
  metrics: Metrics;
  clock: () => number;
  /** Aborted when the server starts closing: long polls answer at once instead of holding it. */
  shutdown: AbortSignal;
}

/** Aborts when the client goes away or the server shuts down; listeners go with the request. */
export function requestSignal(
  raw: { once(e: "close", f: () => void): unknown },
  shutdown: AbortSignal,
): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort();
  shutdown.addEventListener("abort", abort, { once: true });
  raw.once("close", () => {
    shutdown.removeEventListener("abort", abort);
    abort();
  });
  return controller.signal;
}
