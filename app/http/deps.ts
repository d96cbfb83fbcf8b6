import type { Blobs } from "../blobs/service.js";
import type { Authenticator } from "./auth.js";
import type { Metrics } from "./metrics.js";
import type { Store } from "../store/store.js";

/** What route modules need from the composition root. */
export interface RouteDeps {
  store: Store;
  blobs: Blobs;
  auth: Authenticator;
  metrics: Metrics;
  clock: () => number;
  /** Aborted when the server starts closing: long polls answer at once instead of holding it. */
  shutdown: AbortSignal;
}
