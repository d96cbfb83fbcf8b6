/**
 * Re-runs asked for on GitHub. A check run's "Re-run" (check_run.rerequested) and "Re-run all
 * checks" (check_suite.rerequested) run every test of that target again, in full; the check run's
 * "Re-run failed" button only the failures. The row starts over, so the reporter opens a new check
 * run with the same name (GitHub shows the newest one on the commit) that goes queued ->
 * in_progress -> completed for the new jobs. The config-problem check run has no run behind it:
 * re-running it plans the commit again, reading the config afresh.
 */
import type { Target } from "../../api/types.js";
import type { RunService } from "../runs.js";
import type { GithubCheckRecord, Store } from "../store/store.js";
import { CREATING } from "./reporter.js";
import type { TriggerDeps } from "./trigger.js";

export type RerunMode = "all" | "failed";

export async function rerunCheck(
  { store, runs }: { store: Store; runs: RunService },
  check: GithubCheckRecord,
  mode: RerunMode,
  now: number,
): Promise<number> {
  const res = await runs.rerunFailed({ orgId: check.orgId }, check.runId, {
    target: check.target as Target,
    all: mode === "all",
  });
  if (!res || res.rerun.length === 0) return 0;
  // The old check run id stays: a check run made for this row has a newer one (see findCreated).
  await store.restartGithubCheck(check.id, {
    sentStatus: CREATING,
    sentDigest: null,
    annotationsSent: 0,
    finished: false,
    failures: 0,
    error: null,
    nextUpdateAt: now,
  });
  return res.rerun.length;
}

export async function rerunChecks(
  deps: TriggerDeps,
  deliveryId: string,
  checks: readonly GithubCheckRecord[],
  mode: RerunMode,
): Promise<void> {
  const { clock, log } = deps;
  for (const check of checks) {
    const queued = await rerunCheck(deps, check, mode, clock());
    log.info(
      { delivery: deliveryId, runId: check.runId, target: check.target, mode, queued },
      "GitHub re-run queued",
    );
  }
}
