/** The check every upload passes on its way in: a size cap and the SHA-256 it claims. */
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { QgjobError } from "../errors.js";

/**
 * A pass-through that fails the stream as soon as more than `maxBytes` went through, and at the
 * end when the digest is not `expected`. It fails before passing the end on, so a writer behind
 * it never sees a complete body that was wrong.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash("sha256");
  bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly maxBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(tooLarge(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback) {
    const actual = this.hash.digest("hex");
    if (actual !== this.expected) {
      done(
        new QgjobError("hash_mismatch", `the body's SHA-256 is ${actual}, not ${this.expected}`, {
          expected: this.expected,
          actual,
        }),
      );
      return;
    }
    done();
  }
}

export const tooLarge = (maxBytes: number) =>
  new QgjobError("payload_too_large", `a blob may be at most ${maxBytes} bytes`, {
    max_bytes: maxBytes,
  });
