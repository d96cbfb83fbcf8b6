/**
 * Blobs in an S3-compatible bucket, for replicas that share no disk: `<prefix>/<sha256>`.
 * Uploads stream through the verifier into a multipart upload (lib-storage keeps a few 5 MiB
 * parts in memory, never the whole body). The verifier fails the body before its end reaches
 * the SDK, so a wrong or oversized upload is aborted and never completes an object.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobStore, ByteRange, PutOutcome } from "./store.js";
import { VerifyingStream } from "./verify.js";

export interface S3Location {
  bucket: string;
  /** "" or a key prefix ending in "/". */
  prefix: string;
}

/** `s3://bucket/some/prefix` -> bucket and key prefix. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) throw new Error(`not an s3://bucket/prefix URL: ${url}`);
  const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: match[1]!, prefix: prefix === "" ? "" : `${prefix}/` };
}

/**
 * The SDK's client from the usual AWS environment (credentials, AWS_REGION). A custom endpoint
 * (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) means a self-hosted store, which is addressed
 * path-style: such stores rarely have a DNS name per bucket.
 */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Keys in the given environment; otherwise the SDK's own chain (profiles, instance roles).
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
};

export class S3BlobStore implements BlobStore {
  readonly engine = "s3";

  constructor(
    private readonly client: S3Client,
    private readonly where: S3Location,
  ) {}

  private key(sha256: string) {
    return `${this.where.prefix}${sha256}`;
  }

  async put(sha256: string, body: Readable, maxBytes: number): Promise<PutOutcome> {
    const verify = new VerifyingStream(sha256, maxBytes);
    const verified = new PassThrough();
    // Wired before anything awaits, so a body that fails early has its listeners.
    const piping = pipeline(body, verify, verified);
    const uploading = this.stat(sha256).then(async (before) => {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.where.bucket,
          Key: this.key(sha256),
          Body: verified,
          ContentType: "application/octet-stream",
        },
        leavePartsOnError: false,
        // Two 5 MiB parts in flight per upload (the SDK's default is four): what an upload holds
        // in memory is bounded by this, whatever the blob's size.
        queueSize: 2,
      });
      await upload.done();
      return before === null;
    });
    const [piped, uploaded] = await Promise.allSettled([piping, uploading]);
    // The verifier's verdict first, not the SDK's wrapping of it.
    if (piped.status === "rejected") throw piped.reason;
    if (uploaded.status === "rejected") throw uploaded.reason;
    return { size: verify.bytes, created: uploaded.value };
  }

  async stat(sha256: string) {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.key(sha256) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.where.bucket,
          Key: this.key(sha256),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(sha256: string) {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.key(sha256) }),
    );
  }
}
