/**
 * Per-caller request rate limit: one token bucket per API token (per client address in open
 * mode). A bucket holds up to `burst` requests and refills at `perSecond`; an empty bucket answers
 * 429 `rate_limited` with `Retry-After`. Time is passed in, so the buckets are plain arithmetic.
 */
import type { FastifyInstance } from "fastify";
import { QgjobError } from "../errors.js";

export interface RateLimit {
  /** Sustained requests per second; 0 turns the limit off. */
  perSecond: number;
  /** Requests a caller may make at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Idle callers' buckets are forgotten once there are this many (a full bucket equals none). */
const PRUNE_ABOVE = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {}

  get enabled(): boolean {
    return this.limit.perSecond > 0;
  }

  /** Spends one request of `key`'s bucket: 0 when allowed, else the ms until one is. */
  take(key: string, now: number): number {
    if (!this.enabled) return 0;
    const bucket = this.refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / this.limit.perSecond);
  }

  /** How many callers are tracked (for tests of pruning). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune(now);
      bucket = { tokens: this.limit.burst, at: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    // A clock stepping back refills nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + (elapsedMs * this.limit.perSecond) / 1000,
    );
    bucket.at = Math.max(bucket.at, now);
    return bucket;
  }

  private prune(now: number) {
    for (const [key, bucket] of this.buckets) {
      const full =
        bucket.tokens + ((now - bucket.at) * this.limit.perSecond) / 1000 >= this.limit.burst;
      if (full) this.buckets.delete(key);
    }
  }
}

/**
 * Counts every authenticated request against its caller. Runs after the auth hook, so a request
 * with a bad token is refused as 401 without spending anyone's budget; public routes (health,
 * metrics, the OpenAPI document) are not limited.
 */
export function installRateLimit(app: FastifyInstance, buckets: TokenBuckets, clock: () => number) {
  if (!buckets.enabled) return;
  app.addHook("onRequest", async (req, reply) => {
    if (!req.routeOptions.config.scope) return;
    const key = req.caller.tokenId ?? `ip:${req.ip}`;
    const waitMs = buckets.take(key, clock());
    if (waitMs === 0) return;
    const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header("retry-after", String(retryAfterS));
    throw new QgjobError(
      "rate_limited",
      `too many requests for this token: retry in ${retryAfterS} s`,
      { retry_after_s: retryAfterS },
    );
  });
}
