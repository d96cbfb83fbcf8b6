import type { Authenticator } from "./auth.js";
import type { Metrics } from "../metrics.js";
import type { RunService } from "../runs.js";
import type { Store } from "../store/store.js";

/** What route modules need from the composition root. */
export interface RouteDeps {
  store: Store;
  auth: Authenticator;
  metrics: Metrics;
  /** Submissions, re-runs, results and releases: every route that changes a run's jobs. */
  runs: RunService;
  clock: () => number;
  /** Aborted when the server starts closing: long polls answer at once instead of holding it. */
  shutdown: AbortSignal;
}
