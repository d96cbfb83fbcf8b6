/**
 * Signed links: a check run or an Action summary links to a job's evidence with a token that
 * opens that one job for a while (default 30 days, the retention), instead of the API token.
 * The token is `<expiry s>.<HMAC-SHA256(key, "job:<id>:<expiry>") base64url>`. Replicas must
 * share the key (QGJOB_LINK_SECRET); without it each server makes its own at start.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { QgjobError } from "../errors.js";

export class LinkSigner {
  private readonly key: Buffer;

  constructor(secret: string | undefined) {
    this.key = secret ? Buffer.from(secret, "utf8") : randomBytes(32);
  }

  private mac(jobId: string, expiresS: number): string {
    return createHmac("sha256", this.key).update(`job:${jobId}:${expiresS}`).digest("base64url");
  }

  sign(jobId: string, expiresAtMs: number): string {
    const expiresS = Math.floor(expiresAtMs / 1000);
    return `${expiresS}.${this.mac(jobId, expiresS)}`;
  }

  /** Throws unauthorized (a forged or foreign token) or link_expired. */
  verify(jobId: string, token: string, now: number): void {
    const [exp, mac] = token.split(".");
    const expiresS = Number(exp);
    const want = Buffer.from(this.mac(jobId, expiresS));
    const got = Buffer.from(mac ?? "");
    if (!Number.isInteger(expiresS) || got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new QgjobError("unauthorized", "this link is not valid for this job");
    }
    if (expiresS * 1000 < now) {
      throw new QgjobError("link_expired", "this link has expired: sign in to see the job");
    }
  }
}
