/**
 * A run's life as the server's callers see it: submitting, re-running failed tests, an agent's
 * results and releases. The API routes, the seed's compat routes, the dashboard and the GitHub
 * App all come through here, so the org check, the idempotency hash and the metrics happen once,
 * whoever asks. A thin layer: the Store decides, this counts what it answers.
 */
import { createHash } from "node:crypto";
import type { ResultInput, SubmitRunInput } from "../api/schemas.js";
import { isResultStatus } from "../api/status.js";
import type { Target } from "../api/types.js";
import { QgjobError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import type { OrgScope, ResultOutcome, Store } from "./store/store.js";

/** What the service counts: the counters of app/metrics.ts it increments. */
export type RunMetrics = Pick<Metrics, "submitted" | "outcomes" | "requeues" | "released">;

/** A caller scoped to one org may only submit for it; another org does not exist for it. */
export function requireOrg(scope: OrgScope, orgId: string) {
  if (scope.orgId !== null && scope.orgId !== orgId) {
    throw new QgjobError("not_found", `org ${orgId} not found`);
  }
}

/** The body of a keyed submission, as compared with an earlier one under the same key. */
export const requestHash = (input: SubmitRunInput) =>
  createHash("sha256").update(JSON.stringify(input)).digest("hex");

export class RunService {
  constructor(
    private readonly store: Store,
    private readonly metrics: RunMetrics,
    private readonly clock: () => number,
  ) {}

  /** A new run, or with a key already used for the same body the run it made (`replayed`). */
  async submit(scope: OrgScope, input: SubmitRunInput, idempotencyKey?: string) {
    requireOrg(scope, input.org_id);
    // Only a keyed submission is ever compared with an earlier one.
    const hash = idempotencyKey === undefined ? undefined : requestHash(input);
    const out = await this.store.submitRun(
      input,
      { idempotencyKey, requestHash: hash },
      this.clock(),
    );
    if (!out.replayed) this.metrics.submitted.inc(out.jobs.length);
    return out;
  }

  /** The run's tests that ended without passing, queued again; null when the run is not there. */
  async rerunFailed(scope: OrgScope, runId: string, filter: { target?: Target | undefined } = {}) {
    const out = await this.store.rerunFailed(runId, scope, filter, this.clock());
    if (out && out.rerun.length > 0) this.metrics.submitted.inc(out.rerun.length);
    return out;
  }

  /** One attempt's result: the job's end, a retry in the lease, or a requeue, each counted once. */
  async reportResult(leaseId: string, jobId: string, result: ResultInput): Promise<ResultOutcome> {
    const out = await this.store.reportResult(leaseId, jobId, result, this.clock());
    if (!out.duplicate) {
      if (isResultStatus(out.job.status) && !out.retry) {
        this.metrics.outcomes.inc({ status: out.job.status });
      }
      if (out.requeued) this.metrics.requeues.inc();
    }
    return out;
  }

  /** The agent gives its lease back: how many of its jobs went back to the queue. */
  async releaseLease(leaseId: string): Promise<number> {
    const requeued = await this.store.releaseLease(leaseId, this.clock());
    this.metrics.released.inc(requeued);
    return requeued;
  }
}
