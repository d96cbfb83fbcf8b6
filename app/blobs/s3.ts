/**
 * Blobs in an S3-compatible bucket, for replicas that share no disk: `<prefix>/<sha256>`.
 * Uploads stream through the verifier into a multipart upload. With a declared length (the
 * request's Content-Length) each part streams straight from the request body: the server holds
 * no part in memory, whatever the size or the number of uploads at once. Without one, lib-storage
 * buffers two 5 MiB parts per upload. Either way the object is completed only after the verifier
 * passed the whole body, so a wrong or oversized upload is aborted and never completes an object.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobStore, ByteRange, PutOutcome } from "./store.js";
import { VerifyingStream } from "./verify.js";
import { QgjobError } from "../errors.js";

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
    // A checksum of a streamed part would be sent as an aws-chunked trailer, which
    // self-hosted stores often refuse; the verifier checks every byte's SHA-256 anyway.
    requestChecksumCalculation: "WHEN_REQUIRED",
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

  async put(
    sha256: string,
    body: Readable,
    maxBytes: number,
    declaredBytes?: number,
  ): Promise<PutOutcome> {
    const verify = new VerifyingStream(sha256, maxBytes);
    const verified = new PassThrough();
    // Wired before anything awaits, so a body that fails early has its listeners.
    const piping = pipeline(body, verify, verified);
    const uploading = this.stat(sha256).then(async (before) => {
      if (declaredBytes === undefined) await this.buffered(sha256, verified);
      else await this.streamed(sha256, verified, declaredBytes);
      return before === null;
    });
    // A failed upload stops the body too, so the pipeline settles.
    uploading.catch((err: unknown) => verified.destroy(err as Error));
    const [piped, uploaded] = await Promise.allSettled([piping, uploading]);
    // The verifier's verdict first, not the SDK's wrapping of it.
    if (piped.status === "rejected") throw piped.reason;
    if (uploaded.status === "rejected") throw uploaded.reason;
    return { size: verify.bytes, created: uploaded.value };
  }

  private async buffered(sha256: string, verified: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.where.bucket,
        Key: this.key(sha256),
        Body: verified,
        ContentType: "application/octet-stream",
      },
      leavePartsOnError: false,
      // Two 5 MiB parts in flight per upload (the SDK's default is four).
      queueSize: 2,
    });
    await upload.done();
  }

  /** Part after part, each read from the body as it is sent; completed once the body verified. */
  private async streamed(sha256: string, verified: Readable, bytes: number): Promise<void> {
    const target = { Bucket: this.where.bucket, Key: this.key(sha256) };
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ ...target, ContentType: "application/octet-stream" }),
    );
    // A body that fails mid-part (the client left, the verifier refused it) cancels the part's
    // request: its stream may fail before the SDK listens to it.
    const cancel = new AbortController();
    try {
      const body = new Slicer(verified[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
      const partBytes = Math.max(PART_BYTES, Math.ceil(bytes / MAX_PARTS));
      const parts: CompletedPart[] = [];
      // One part even for an empty body: a multipart upload needs one.
      for (let offset = 0; offset < bytes || parts.length === 0; offset += partBytes) {
        const length = Math.min(partBytes, bytes - offset);
        const PartNumber = parts.length + 1;
        const Body = Readable.from(body.take(length), { objectMode: false });
        Body.once("error", (err) => cancel.abort(err));
        const { ETag } = await this.client.send(
          new UploadPartCommand({ ...target, UploadId, PartNumber, Body, ContentLength: length }),
          { abortSignal: cancel.signal },
        );
        parts.push({ ETag, PartNumber });
      }
      await body.end();
      await this.client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ ...target, UploadId }))
        .catch(() => undefined);
      throw err;
    }
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

/** A streamed part's size: fewer requests than 5 MiB parts, and nothing held in memory. */
const PART_BYTES = 16 * 1024 * 1024;
/** S3's limit of parts per upload. */
const MAX_PARTS = 10_000;

/** A body read as consecutive slices of given lengths, each a stream of its own. */
class Slicer {
  private rest: Buffer | null = null;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      const chunk = this.rest ?? (await this.next());
      this.rest = chunk.length > left ? chunk.subarray(left) : null;
      const piece = chunk.subarray(0, left);
      left -= piece.length;
      yield piece;
    }
  }

  /** The body ended where it was declared to (and so passed the verifier). */
  async end(): Promise<void> {
    if (this.rest || !(await this.source.next()).done) {
      throw new QgjobError("invalid_request", "the body is longer than its Content-Length");
    }
  }

  private async next(): Promise<Buffer> {
    const { done, value } = await this.source.next();
    if (done) throw new QgjobError("invalid_request", "the body ended before its Content-Length");
    return value;
  }
}
