/**
 * Chooses the blob engine: an S3 bucket when QGJOB_BLOB_URL names one, else the local disk.
 * The AWS SDK is imported only when chosen: it would add seconds to every server start.
 */
import { DiskBlobStore } from "./disk.js";
import type { BlobStore } from "./store.js";

export async function openBlobStore(
  opts: { blobUrl?: string | undefined; blobDir: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<BlobStore> {
  if (opts.blobUrl !== undefined) {
    const [{ S3Client }, { parseS3Url, S3BlobStore, s3ClientConfig }] = await Promise.all([
      import("@aws-sdk/client-s3"),
      import("./s3.js"),
    ]);
    return new S3BlobStore(new S3Client(s3ClientConfig(env)), parseS3Url(opts.blobUrl));
  }
  return new DiskBlobStore(opts.blobDir);
}
