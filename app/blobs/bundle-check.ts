/**
 * The check a bundle passes on its way into the blob store: the tarball is read as it streams
 * through (api/bundle.ts inspectBundle, the same checks the agent's unpack makes), so a corrupt
 * bundle or one with an entry that climbs out is refused before it is stored, and the server
 * learns the bundle's file list (kept for `test_not_in_bundle` at submission).
 */
import { PassThrough, Transform, type TransformCallback } from "node:stream";
import { inspectBundle } from "../../api/bundle.js";
import { QgjobError } from "../errors.js";

export class BundleCheck extends Transform {
  private readonly copy = new PassThrough();
  private failure: QgjobError | null = null;
  private readonly reading: Promise<string[]>;
  files: string[] = [];

  constructor() {
    super();
    this.reading = inspectBundle(this.copy).catch((err: unknown) => {
      this.failure = new QgjobError(
        "invalid_bundle",
        `not a usable test bundle: ${(err as Error).message}`,
      );
      return [];
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    if (this.failure) {
      done(this.failure);
      return;
    }
    if (this.copy.write(chunk)) {
      done(null, chunk);
      return;
    }
    // Wait for the reader, or for its failure (after which it reads nothing more).
    void Promise.race([new Promise((ok) => this.copy.once("drain", ok)), this.reading]).then(() =>
      done(this.failure, this.failure ? undefined : chunk),
    );
  }

  override _flush(done: TransformCallback) {
    this.copy.end();
    void this.reading.then((files) => {
      this.files = files;
      done(this.failure);
    });
  }
}
