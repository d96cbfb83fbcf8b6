/**
 * A job's evidence as callers see it: every attempt with its artifacts, each stored (the blob
 * store has the bytes), pending (the agent has not finished uploading) or missing (with the
 * agent's reason), and the opening of one artifact's bytes for the download route.
 */
import type { Readable } from "node:stream";
import type { AttemptEvidence, JobArtifacts, StoredArtifact } from "../../api/artifacts.js";
import type { Artifact } from "../../api/schemas.js";
import { notFound } from "../errors.js";
import type { JobRecord, OrgScope, Store } from "../store/store.js";

/** What evidence needs of the blob store (app/blobs/service.ts: Blobs). */
export interface EvidenceBlobs {
  find(sha256: string, scope: OrgScope): Promise<{ sha256: string; size: number }>;
  open(
    blob: { sha256: string; size: number },
    range?: { start: number; end: number },
  ): Promise<Readable>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function artifactPath(jobId: string, attempt: number, index: number): string {
  return `/api/v1/jobs/${encodeURIComponent(jobId)}/attempts/${attempt}/artifacts/${index}`;
}

async function stateOf(
  blobs: EvidenceBlobs,
  a: Artifact,
  orgId: string,
): Promise<StoredArtifact["state"]> {
  if (a.missing || !a.sha256) return "missing";
  return blobs.find(a.sha256, { orgId }).then(
    () => "stored" as const,
    () => "pending" as const,
  );
}

export async function listEvidence(
  store: Store,
  blobs: EvidenceBlobs,
  job: JobRecord,
  sig?: string,
): Promise<JobArtifacts> {
  const attempts: AttemptEvidence[] = [];
  for (const a of await store.listAttempts(job.id)) {
    const artifacts: StoredArtifact[] = [];
    for (const [index, art] of (a.result?.artifacts ?? []).entries()) {
      const state = await stateOf(blobs, art, job.orgId);
      const path = artifactPath(job.id, a.attempt, index);
      artifacts.push({
        index,
        name: art.name,
        kind: art.kind ?? "file",
        content_type: art.content_type ?? "application/octet-stream",
        size: art.size ?? null,
        sha256: art.sha256 ?? null,
        state,
        missing: art.missing ?? (state === "pending" ? "not uploaded yet" : null),
        url: state === "stored" ? (sig ? `${path}?sig=${encodeURIComponent(sig)}` : path) : null,
      });
    }
    attempts.push({
      attempt: a.attempt,
      status: a.status,
      agent_id: a.agentId,
      started_at: iso(a.startedAt),
      finished_at: iso(a.finishedAt),
      duration_ms: a.durationMs,
      message: a.result?.message ?? null,
      artifacts,
    });
  }
  return { job_id: job.id, attempts };
}

/** One artifact of one attempt, with its blob; not_found when it has no stored bytes. */
export async function findArtifact(
  store: Store,
  blobs: EvidenceBlobs,
  job: JobRecord,
  attempt: number,
  index: number,
): Promise<{ artifact: Artifact; blob: { sha256: string; size: number } }> {
  const row = (await store.listAttempts(job.id)).find((a) => a.attempt === attempt);
  const artifact = row?.result?.artifacts[index];
  if (!artifact?.sha256) throw notFound("artifact", `${job.id}/${attempt}/${index}`);
  const blob = await blobs.find(artifact.sha256, { orgId: job.orgId });
  return { artifact, blob };
}

/**
 * Content-Disposition with the name made safe for the header (RFC 6266, UTF-8 form too). Only
 * types a browser cannot run are shown inline: an HTML or SVG file a test wrote is downloaded.
 */
export function disposition(name: string, contentType: string): string {
  const inline = /^(image\/(png|jpeg|gif|webp)|video\/[a-z0-9.+-]+|text\/plain)(;|$)/.test(
    contentType,
  )
    ? "inline"
    : "attachment";
  const base = name.split("/").pop() || "artifact";
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `${inline}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}
