/**
 * A check run's "Re-run" (check_run.rerequested) or its "Re-run failed" button: the failed jobs of
 * that check run's target are queued again, and the row starts over, so the reporter opens a new
 * check run with the same name (GitHub shows the newest one on the commit) that goes queued ->
 * in_progress -> completed for the new jobs.
 */
import type { RunService } from "../runs.js";
import type { GithubCheckRecord, Store } from "../store/store.js";
import type { TriggerDeps } from "./trigger.js";

export async function rerunCheck(
  { store, runs }: { store: Store; runs: RunService },
  check: GithubCheckRecord,
  now: number,
): Promise<number> {
  const res = await runs.rerunFailed({ orgId: check.orgId }, check.runId, {
    target: check.target,
  });
  if (!res || res.rerun.length === 0) return 0;
  await store.updateGithubCheck(check.id, {
    checkRunId: null,
    sentStatus: null,
    sentDigest: null,
    annotationsSent: 0,
    finished: false,
    failures: 0,
    nextUpdateAt: now,
  });
  return res.rerun.length;
}

/** A re-run request from a webhook: once per delivery, and only for check runs qgjob opened. */
export async function handleRerunRequest(
  deps: TriggerDeps,
  deliveryId: string,
  installationId: number,
  checkRunId: number,
): Promise<void> {
  const { store, clock, log } = deps;
  if (!(await store.recordGithubDelivery(deliveryId, "check_run", clock()))) return;
  const check = await store.findGithubCheck(installationId, checkRunId);
  if (!check) return;
  const queued = await rerunCheck(deps, check, clock());
  log.info(
    { delivery: deliveryId, runId: check.runId, target: check.target, queued },
    "GitHub re-run of failed tests",
  );
}
