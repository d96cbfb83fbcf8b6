/** Wire types of the blob routes (PUT/HEAD/GET /api/v1/blobs/{sha256}). */
import { z } from "zod";
import { OrgId } from "./schemas.js";

export const BLOB_KINDS = ["bundle", "build", "artifact", "log"] as const;
export const BlobKind = z.enum(BLOB_KINDS);
export type BlobKind = z.infer<typeof BlobKind>;

export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 in 64 lowercase hex digits");

export const BlobParams = z.strictObject({ sha256: Sha256 });

export const BlobUploadQuery = z.strictObject({
  /** The org the blob is stored for; an org token may name only its own. */
  org_id: OrgId,
  /** A `bundle` is read on arrival (api/bundle.ts): a corrupt or unsafe tarball is refused. */
  kind: BlobKind,
});
export type BlobUploadQuery = z.input<typeof BlobUploadQuery>;

export const Blob = z.object({
  sha256: Sha256,
  size: z.number().int().min(0),
  kind: BlobKind,
});
export type Blob = z.infer<typeof Blob>;
