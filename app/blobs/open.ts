/** Chooses the blob engine: an S3 bucket when QGJOB_BLOB_URL names one, else the local disk. */
import { S3Client } from "@aws-sdk/client-s3";
import { DiskBlobStore } from "./disk.js";
import { parseS3Url, S3BlobStore, s3ClientConfig } from "./s3.js";
import type { BlobStore } from "./store.js";

export function openBlobStore(
  opts: { blobUrl?: string | undefined; blobDir: string },
  env: NodeJS.ProcessEnv = process.env,
): BlobStore {
  if (opts.blobUrl !== undefined) {
    return new S3BlobStore(new S3Client(s3ClientConfig(env)), parseS3Url(opts.blobUrl));
  }
  return new DiskBlobStore(opts.blobDir);
}
