/**
 * A run's life as the server's callers see it: submitting, re-running failed tests, an agent's
 * results and releases. The API routes, the seed's compat routes, the dashboard and the GitHub
 * App all come through here, so the org check, the idempotency hash and the metrics happen once,
 * whoever asks. A thin layer: the Store decides, this counts what it answers.
 */
import { createHash } from "node:crypto";
import { missingFromBundle } from "../api/bundle.js";
import {
  RESULT_TEXT_MAX,
  type ResultInput,
  type RunBuild,
  type RunBundle,
  type SubmitRunInput,
} from "../api/schemas.js";
import { isFailedStatus, isResultStatus } from "../api/status.js";
import { QgjobError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { capResult, type ResultCaps } from "./result-caps.js";
import { endedJob } from "./store/history.js";
import { MAX_ARTIFACTS } from "./store/rules.js";
import type {
  JobRecord,
  LeaseHolderCheck,
  OrgScope,
  RerunFilter,
  ResultOutcome,
  Store,
} from "./store/store.js";

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
    private readonly caps: ResultCaps = {
      messageMax: RESULT_TEXT_MAX,
      logTailMax: RESULT_TEXT_MAX,
    },
  ) {}

  /**
   * A new run, or with a key already used for the same body the run it made (`replayed`). With
   * `supersede`, the earlier runs of its repo and ref stop: every door (API, CLI, Action, App)
   * supersedes through here.
   */
  async submit(scope: OrgScope, input: SubmitRunInput, idempotencyKey?: string) {
    requireOrg(scope, input.org_id);
    if (input.supersede && (!input.repo || !input.ref)) {
      throw new QgjobError(
        "invalid_request",
        "supersede needs the run's repo and ref: the runs it stops are the earlier ones of that branch",
      );
    }
    // Only a keyed submission is ever compared with an earlier one.
    const hash = idempotencyKey === undefined ? undefined : requestHash(input);
    const inputs = await this.inputsOf(input);
    const now = this.clock();
    const out = await this.store.submitRun(
      input,
      { idempotencyKey, requestHash: hash, ...inputs },
      now,
    );
    // A reused bundle or build counts as used again: retention keeps it as long as runs use it.
    const used = [inputs.bundle?.sha256, inputs.build?.sha256].filter((h) => h !== undefined);
    await this.store.touchBlobs(input.org_id, used, now);
    if (out.replayed) return { ...out, superseded: [] };
    this.metrics.submitted.inc(out.jobs.length);
    const superseded =
      input.supersede && input.repo && input.ref
        ? await this.store.supersedeEarlier(
            {
              runId: out.run.id,
              orgId: input.org_id,
              repo: input.repo,
              ref: input.ref,
              target: input.target,
              device: input.device ?? null,
            },
            now,
          )
        : [];
    return { ...out, superseded };
  }

  /**
   * The bundle and build a submission names, from the org's blobs: each must be held by the org
   * as that kind, and every test path must be in the bundle (its file list was read on upload).
   */
  private async inputsOf(
    input: SubmitRunInput,
  ): Promise<{ bundle: RunBundle | null; build: RunBuild | null }> {
    let bundle: RunBundle | null = null;
    let build: RunBuild | null = null;
    if (input.bundle) {
      const blob = await this.heldBlob(input.org_id, input.bundle.sha256, "bundle");
      const files = blob.files ?? [];
      const missing = missingFromBundle(files, input.tests);
      if (missing.length > 0) {
        const shown = missing.slice(0, 10).join(", ");
        const more = missing.length > 10 ? ` and ${missing.length - 10} more` : "";
        throw new QgjobError(
          "test_not_in_bundle",
          `not in the bundle ${input.bundle.sha256.slice(0, 12)}: ${shown}${more}`,
          { missing },
        );
      }
      bundle = {
        sha256: blob.sha256,
        size: blob.size,
        files: files.length,
        source_sha: input.bundle.source_sha ?? input.sha ?? null,
      };
    }
    if (input.build) {
      const blob = await this.heldBlob(input.org_id, input.build.sha256, "build");
      build = { sha256: blob.sha256, size: blob.size, name: input.build.name };
    }
    return { bundle, build };
  }

  private async heldBlob(orgId: string, sha256: string, kind: "bundle" | "build") {
    const blob = await this.store.findBlob(sha256, { orgId });
    if (!blob) {
      throw new QgjobError(
        "unknown_blob",
        `org ${orgId} holds no blob ${sha256}: upload the ${kind} first (PUT /api/v1/blobs/{sha256})`,
        { sha256 },
      );
    }
    if (blob.kind !== kind) {
      throw new QgjobError(
        kind === "bundle" ? "invalid_bundle" : "unknown_blob",
        `blob ${sha256} was uploaded as a ${blob.kind}, not a ${kind}`,
        { sha256 },
      );
    }
    return blob;
  }

  /**
   * The run's tests that ended without passing (with `all`, every one that ended) queued again;
   * null when the run is not there.
   */
  async rerunFailed(scope: OrgScope, runId: string, filter: RerunFilter = {}) {
    const now = this.clock();
    const out = await this.store.rerunFailed(runId, scope, filter, now);
    if (out && out.rerun.length > 0) {
      this.metrics.submitted.inc(out.rerun.length);
      // A re-run uses its run's bundle and build again: retention keeps them while it runs.
      const inputs = (await this.store.runInputs([runId])).get(runId);
      const used = [inputs?.bundle?.sha256, inputs?.build?.sha256].filter((h) => h !== undefined);
      await this.store.touchBlobs(out.run.orgId, used, now);
    }
    return out;
  }

  /**
   * The jobs each re-run job stands in for, newest first: what a run's page shows collapsed
   * under the job. Bounded: a test re-run more than `depth` times shows its latest `depth`.
   */
  async rerunHistory(
    jobs: readonly Pick<JobRecord, "id" | "rerunOf">[],
    scope: OrgScope,
    depth = 10,
  ): Promise<Map<string, JobRecord[]>> {
    const history = new Map<string, JobRecord[]>();
    for (const job of jobs) {
      const earlier: JobRecord[] = [];
      for (let id = job.rerunOf; id !== null && earlier.length < depth;) {
        const prior = await this.store.getJob(id, scope);
        if (!prior) break;
        earlier.push(prior);
        id = prior.rerunOf;
      }
      if (earlier.length > 0) history.set(job.id, earlier);
    }
    return history;
  }

  /** One attempt's result: the job's end, a retry in the lease, or a requeue, each counted once. */
  async reportResult(
    leaseId: string,
    jobId: string,
    result: ResultInput,
    holder?: LeaseHolderCheck,
  ): Promise<ResultOutcome> {
    const kept = capResult(result, this.caps);
    const now = this.clock();
    const out = await this.store.reportResult(leaseId, jobId, kept, now, holder);
    if (!out.duplicate) {
      // Evidence the org holds already (a screenshot like last run's) is in use again.
      const named = kept.artifacts
        .slice(0, MAX_ARTIFACTS)
        .flatMap((a) => (a.sha256 ? [a.sha256] : []));
      await this.store.touchBlobs(out.job.orgId, named, now);
      if (isResultStatus(out.job.status) && !out.retry) {
        this.metrics.outcomes.inc({ status: out.job.status });
      }
      if (out.requeued) this.metrics.requeues.inc();
    }
    if (endedJob(out) && isFailedStatus(out.job.status)) await this.failFast(out.job.runId);
    return out;
  }

  /**
   * A run submitted with `fail_fast: N` is cancelled once N of its tests have failed (failures
   * of quarantined tests do not count): the jobs still queued never start, the running ones are
   * stopped, and the run ends `failed`.
   */
  private async failFast(runId: string) {
    const run = await this.store.getRunView(runId, { orgId: null });
    if (!run || run.failFast === null) return;
    const c = run.counts;
    const failures = c.failed + c.error + c.timed_out - c.quarantined;
    const open = c.queued + c.leased + c.running;
    if (failures >= run.failFast && open > 0) {
      await this.store.cancelRun(runId, { orgId: null }, this.clock());
    }
  }

  /** The agent gives its lease back: how many of its jobs went back to the queue. */
  async releaseLease(leaseId: string): Promise<number> {
    const requeued = await this.store.releaseLease(leaseId, this.clock());
    this.metrics.released.inc(requeued);
    return requeued;
  }
}
