/** How long evidence lasts, and the signed links to it that the GitHub App hands out. */
import type { Job } from "../../api/schemas.js";
import { shareEvidence, type SharedEvidence } from "../../report/evidence.js";
import type { LinkSigner } from "./links.js";

/** When a finished job's evidence may be removed: retention counts from its end. */
export function evidenceExpiry(finishedAtMs: number, retentionMs: number): number {
  return finishedAtMs + retentionMs;
}

/**
 * A finished job's evidence links, signed until its evidence expires: the same links on every
 * render, so an unchanged check run is not sent again.
 */
export function signedEvidence(
  job: Pick<Job, "id" | "attempts" | "result" | "finished_at">,
  ctx: { base: string; links: LinkSigner; retentionMs: number },
): SharedEvidence | null {
  if (job.finished_at === null) return null;
  const expires = evidenceExpiry(Date.parse(job.finished_at), ctx.retentionMs);
  return shareEvidence(job, { base: ctx.base, sig: ctx.links.sign(job.id, expires) });
}
