import type { Blobs } from "../blobs/service.js";
import type { LinkSigner } from "../evidence/links.js";
import type { Authenticator } from "./auth.js";
import type { Metrics } from "../metrics.js";
import type { RunService } from "../runs.js";
import type { Store } from "../store/store.js";
import type { TestService } from "../tests.js";

/** What route modules need from the composition root. */
export interface RouteDeps {
  store: Store;
  blobs: Blobs;
  auth: Authenticator;
  metrics: Metrics;
  /** Submissions, re-runs, results and releases: every route that changes a run's jobs. */
  runs: RunService;
  /** Test history and quarantines. */
  tests: TestService;
  clock: () => number;
  /** Aborted when the server starts closing: long polls answer at once instead of holding it. */
  shutdown: AbortSignal;
  /** /metrics without a token (QGJOB_METRICS_PUBLIC). */
  metricsPublic: boolean;
  /** Expiry of tokens created over the API without one (QGJOB_TOKEN_TTL_DAYS); null: never. */
  tokenTtlMs: number | null;
  /** Signs and checks the evidence links of check runs, Action summaries and pages. */
  links: LinkSigner;
  /** How long evidence is kept after its job ends (QGJOB_RETENTION_DAYS). */
  retentionMs: number;
}
