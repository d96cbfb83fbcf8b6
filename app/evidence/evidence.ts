/**
 * A job's evidence as callers see it: every attempt with its artifacts, each stored (the blob
 * store has the bytes), pending (the agent has not finished uploading) or missing (with the
 * agent's reason), and the opening of one artifact's bytes for the download route.
 */
import {
  artifactPath,
  jobPagePath,
  type AttemptEvidence,
  type JobArtifacts,
  type StoredArtifact,
} from "../../api/artifacts.js";
import type { Artifact } from "../../api/schemas.js";
import { notFound } from "../errors.js";
import { evidenceExpiry } from "./share.js";
import { presentLeaseDevice } from "../present.js";
import type { Blobs } from "../blobs/service.js";
import type { BlobRecord, JobRecord, Store } from "../store/store.js";

/** What evidence needs of the blob store. */
export type EvidenceBlobs = Pick<Blobs, "find" | "open">;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Only web links are passed on: an agent's `url` is its input and could be `javascript:`. */
const isWebUrl = (url: string | undefined): url is string =>
  url !== undefined && /^https?:\/\//i.test(url);

async function stateOf(
  blobs: EvidenceBlobs,
  a: Artifact,
  orgId: string,
): Promise<StoredArtifact["state"]> {
  if (!a.sha256 && !a.missing && isWebUrl(a.url)) return "external";
  if (a.missing || !a.sha256) return "missing";
  return blobs.find(a.sha256, { orgId }).then(
    () => "stored" as const,
    () => "pending" as const,
  );
}

/**
 * Every attempt's evidence. `sig` signs the urls (and the page); `retentionMs` dates the
 * evidence's expiry from the job's end.
 */
export async function listEvidence(
  store: Store,
  blobs: EvidenceBlobs,
  job: JobRecord,
  opts: { sig?: string | undefined; retentionMs: number },
): Promise<JobArtifacts> {
  const { sig } = opts;
  const attempts: AttemptEvidence[] = [];
  const rows = await store.listAttempts(job.id);
  const devices = new Map(
    (await store.leaseDevices([...new Set(rows.map((a) => a.leaseId))])).map((d) => [d.leaseId, d]),
  );
  for (const a of rows) {
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
        url:
          state === "stored"
            ? sig
              ? `${path}?sig=${encodeURIComponent(sig)}`
              : path
            : state === "external"
              ? art.url!
              : null,
      });
    }
    attempts.push({
      attempt: a.attempt,
      status: a.status,
      agent_id: a.agentId,
      lease_id: a.leaseId,
      device: devices.has(a.leaseId) ? presentLeaseDevice(devices.get(a.leaseId)!) : null,
      started_at: iso(a.startedAt),
      finished_at: iso(a.finishedAt),
      duration_ms: a.durationMs,
      message: a.result?.message ?? null,
      artifacts,
    });
  }
  return {
    job_id: job.id,
    page: jobPagePath(job.id, sig),
    expires_at: iso(
      job.finishedAt === null ? null : evidenceExpiry(job.finishedAt, opts.retentionMs),
    ),
    attempts,
  };
}

/** One artifact of one attempt, with its blob; not_found when it has no stored bytes. */
export async function findArtifact(
  store: Store,
  blobs: EvidenceBlobs,
  job: JobRecord,
  attempt: number,
  index: number,
): Promise<{ artifact: Artifact; blob: BlobRecord }> {
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

/** How much of a log a page shows inline; the whole file is a download away. */
export const LOG_VIEW_BYTES = 1 << 20;

/**
 * The end of a stored log, for a page: at most `max` bytes, starting at a line. `skipped` is how
 * many bytes came before it.
 */
export async function logTail(
  blobs: EvidenceBlobs,
  orgId: string,
  sha256: string,
  max = LOG_VIEW_BYTES,
): Promise<{ text: string; skipped: number }> {
  const blob = await blobs.find(sha256, { orgId });
  if (blob.size === 0) return { text: "", skipped: 0 };
  const start = Math.max(0, blob.size - max);
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.open(blob, { start, end: blob.size - 1 })) {
    chunks.push(chunk as Buffer);
  }
  let text = Buffer.concat(chunks).toString("utf8");
  let skipped = start;
  if (start > 0) {
    const cut = text.indexOf("\n") + 1;
    skipped += Buffer.byteLength(text.slice(0, cut));
    text = text.slice(cut);
  }
  return { text, skipped };
}
