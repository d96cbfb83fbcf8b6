/**
 * The blob store: bytes named by their SHA-256 (test bundles, app builds, evidence). Engines keep
 * only bytes; who may see a blob is the datastore's business (app/store, the blobs table).
 * Every transfer is a stream: no engine holds a whole blob in memory.
 */
import type { Readable } from "node:stream";

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Inclusive byte offsets, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutOutcome {
  size: number;
  /** False when the bytes were already stored (the upload was verified, then dropped). */
  created: boolean;
}

export interface BlobStore {
  readonly engine: "disk" | "s3";
  /**
   * Stores `body` as `sha256`. The bytes are hashed and counted on the way in: more than
   * `maxBytes` throws payload_too_large, a digest other than `sha256` throws hash_mismatch, and
   * either way nothing is stored under that name (a partial write stays under a temporary name
   * and is removed, or an unfinished multipart upload is aborted). `declaredBytes`: the body's
   * length when the client said it (an engine may stream by it).
   */
  put(
    sha256: string,
    body: Readable,
    maxBytes: number,
    declaredBytes?: number,
  ): Promise<PutOutcome>;
  stat(sha256: string): Promise<{ size: number } | null>;
  /** The bytes (or one range of them); null when the blob is not stored. */
  get(sha256: string, range?: ByteRange): Promise<Readable | null>;
  delete(sha256: string): Promise<void>;
  /** The volume the bytes are on, for engines that have one (a bucket has no free space). */
  space?(): Promise<{ free: number; size: number }>;
}
