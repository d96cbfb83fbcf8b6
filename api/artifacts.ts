/** Wire types of a job's evidence: GET /api/v1/jobs/{id}/artifacts and the download route. */
import { z } from "zod";
import { ArtifactKind } from "./schemas.js";

export const ARTIFACT_STATES = ["stored", "pending", "missing"] as const;

export const StoredArtifact = z.object({
  /** Its place in the attempt's list: the download route's last segment. */
  index: z.number().int(),
  name: z.string(),
  kind: ArtifactKind,
  content_type: z.string(),
  size: z.number().int().nullable(),
  sha256: z.string().nullable(),
  /** stored: downloadable; pending: the agent has not finished uploading; missing: see `missing`. */
  state: z.enum(ARTIFACT_STATES),
  missing: z.string().nullable(),
  /** The download path (relative to the server), with a signed token when the listing had one. */
  url: z.string().nullable(),
});
export type StoredArtifact = z.infer<typeof StoredArtifact>;

export const AttemptEvidence = z.object({
  attempt: z.number().int(),
  status: z.string(),
  agent_id: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  message: z.string().nullable(),
  artifacts: z.array(StoredArtifact),
});
export type AttemptEvidence = z.infer<typeof AttemptEvidence>;

export const JobArtifacts = z.object({
  job_id: z.string(),
  attempts: z.array(AttemptEvidence),
});
export type JobArtifacts = z.infer<typeof JobArtifacts>;

export const ArtifactParams = z.strictObject({
  id: z.string().max(64),
  attempt: z.coerce.number().int().min(1).max(100),
  index: z.coerce.number().int().min(0).max(1000),
});

/** `sig`: a signed link's token (check runs, Action summaries) instead of the API token. */
export const SignedQuery = z.object({ sig: z.string().max(200).optional() });
