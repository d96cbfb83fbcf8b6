/** Wire types of a job's evidence: GET /api/v1/jobs/{id}/artifacts and the download route. */
import { z } from "zod";
import { LeaseDevice } from "./devices.js";
import { ArtifactKind } from "./schemas.js";

export const ARTIFACT_STATES = ["stored", "pending", "missing", "external"] as const;

export const StoredArtifact = z.object({
  /** Its place in the attempt's list: the download route's last segment. */
  index: z.number().int(),
  name: z.string(),
  kind: ArtifactKind,
  content_type: z.string(),
  size: z.number().int().nullable(),
  sha256: z.string().nullable(),
  /**
   * stored: downloadable here; pending: the agent has not finished uploading; missing: see
   * `missing`; external: kept by the device provider at `url` (a BrowserStack video).
   */
  state: z.enum(ARTIFACT_STATES),
  missing: z.string().nullable(),
  /**
   * The download path (relative to the server), with a signed token when the listing had one;
   * for an external artifact, the provider's http(s) URL.
   */
  url: z.string().nullable(),
});
export type StoredArtifact = z.infer<typeof StoredArtifact>;

export const AttemptEvidence = z.object({
  attempt: z.number().int(),
  status: z.string(),
  agent_id: z.string(),
  lease_id: z.string(),
  /** What the device did for the attempt's lease (installs, sessions, setup); null: not reported. */
  device: LeaseDevice.nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  message: z.string().nullable(),
  artifacts: z.array(StoredArtifact),
});
export type AttemptEvidence = z.infer<typeof AttemptEvidence>;

export const JobArtifacts = z.object({
  job_id: z.string(),
  /** The job's dashboard page (relative to the server), signed like the artifacts' urls. */
  page: z.string(),
  /**
   * When the job's evidence may be removed (QGJOB_RETENTION_DAYS after it ended, unless a later
   * run uses the same files); null while it runs.
   */
  expires_at: z.string().nullable(),
  attempts: z.array(AttemptEvidence),
});
export type JobArtifacts = z.infer<typeof JobArtifacts>;

export const ArtifactParams = z.strictObject({
  id: z.string().max(64),
  attempt: z.coerce.number().int().min(1).max(100),
  index: z.coerce.number().int().min(0).max(1000),
});

/**
 * `sig`: a signed link's token (check runs, Action summaries) instead of the API token.
 * `share=true` (with a token): the page and urls come signed, valid until the evidence expires,
 * for links handed to people without a token (the Action's job summary).
 */
export const SignedQuery = z.object({
  sig: z.string().max(200).optional(),
  share: z.enum(["true", "false"]).optional(),
});

/** Paths of the server's evidence routes and pages, relative to its address. */
export function artifactPath(jobId: string, attempt: number, index: number): string {
  return `/api/v1/jobs/${encodeURIComponent(jobId)}/attempts/${attempt}/artifacts/${index}`;
}

/** The job's dashboard page, carrying a signed link's token when it has one. */
export function jobPagePath(jobId: string, sig?: string): string {
  const page = `/jobs/${encodeURIComponent(jobId)}`;
  return sig ? `${page}?sig=${encodeURIComponent(sig)}` : page;
}

/** The served trace viewer's page for one trace, by its download path. */
export const traceViewerUrl = (artifactUrl: string) =>
  `/trace/index.html?trace=${encodeURIComponent(artifactUrl)}`;
