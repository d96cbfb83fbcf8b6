/**
 * The Idempotency-Key of a submission: the same step of the same workflow run attempt, asking for
 * the same thing, gets the same key, so the server answers a repeat with the first run instead
 * of queueing the tests twice (a step retried by the runner, a lost answer retried by the client).
 *
 * - GITHUB_RUN_ATTEMPT is part of it: "Re-run jobs" in GitHub is a new attempt and a new run.
 * - GITHUB_JOB and GITHUB_ACTION tell the steps of a workflow run apart (GITHUB_ACTION is the
 *   step id, or `__owner_repo` with `_2`, `_3`… for later uses in one job).
 * - A hash of the request body is part of it: the legs of a matrix share the job id, and those
 *   asking for different tests, targets or builds must not collide (same key, different body is
 *   a 422 on the server). Legs asking for exactly the same thing share one run.
 *
 * Outside GitHub (no GITHUB_RUN_ID) there is no stable identity: undefined, and the client makes
 * a random key, which still protects its own retries.
 */
import { createHash } from "node:crypto";
import { IDEMPOTENCY_KEY_MAX, type SubmitRunRequest } from "../api/schemas.js";
import type { GithubContext } from "./context.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function idempotencyKey(ctx: GithubContext, request: SubmitRunRequest): string | undefined {
  if (!ctx.runId) return undefined;
  const parts = [
    "gha",
    ctx.repository ?? "-",
    ctx.runId,
    ctx.runAttempt ?? "1",
    ctx.job ?? "-",
    ctx.action ?? "-",
    sha256(JSON.stringify(request)).slice(0, 16),
  ];
  const key = parts.join(":").replace(/[^\x21-\x7e]/g, "_");
  return key.length <= IDEMPOTENCY_KEY_MAX ? key : `gha:${sha256(key)}`;
}
