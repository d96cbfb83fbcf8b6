/**
 * Blobs as callers see them: bytes from the engine (app/blobs), holdings from the datastore.
 *
 * Content is stored once, but visibility is per org. An org that already holds a hash gets an
 * answer at once, without sending the body (re-runs upload nothing). An org that does not hold
 * it must send the bytes, which are verified against the hash even when they are stored already
 * (then dropped): knowing a hash never gives access to another org's content, and the answer
 * (201, "new to you") is the same whether or not another org has it.
 */
import type { Readable } from "node:stream";
import type { BlobKind } from "../../api/blobs.js";
import { notFound, QgjobError } from "../errors.js";
import type { BlobRecord, OrgScope, Store } from "../store/store.js";
import type { BlobStore, ByteRange } from "./store.js";
import { BundleCheck } from "./bundle-check.js";
import { tooLarge } from "./verify.js";

export interface UploadInput {
  orgId: string;
  sha256: string;
  kind: BlobKind;
  /** Content-Length when the client sent one: over the cap is refused before reading. */
  declaredBytes: number | undefined;
  body: Readable;
}

export class Blobs {
  constructor(
    private readonly store: Store,
    readonly bytes: BlobStore,
    readonly maxBytes: number,
  ) {}

  /** `fresh`: the org did not hold the blob before this upload. */
  async upload(input: UploadInput, now: number): Promise<{ blob: BlobRecord; fresh: boolean }> {
    const held = await this.store.findBlob(input.sha256, { orgId: input.orgId });
    // Held with its bytes gone (retention removed them as this org used the hash again): the
    // bytes are taken again.
    if (held && (await this.bytes.stat(input.sha256))) {
      await this.store.recordBlob(held, now);
      return { blob: held, fresh: false };
    }
    if (input.declaredBytes !== undefined && input.declaredBytes > this.maxBytes) {
      throw tooLarge(this.maxBytes);
    }
    const check = input.kind === "bundle" ? new BundleCheck() : null;
    const body = check ? input.body.pipe(check) : input.body;
    if (check) input.body.once("error", (err) => check.destroy(err));
    const { size } = await this.bytes.put(input.sha256, body, this.maxBytes, input.declaredBytes);
    const blob = {
      orgId: input.orgId,
      sha256: input.sha256,
      size,
      kind: input.kind,
      files: check ? check.files : null,
    };
    await this.store.recordBlob(blob, now);
    return {
      blob: (await this.store.findBlob(input.sha256, { orgId: input.orgId }))!,
      fresh: true,
    };
  }

  /** The blob when the scope may see it and its bytes are there; else not_found. */
  async find(sha256: string, scope: OrgScope): Promise<BlobRecord> {
    const blob = await this.store.findBlob(sha256, scope);
    if (!blob || !(await this.bytes.stat(sha256))) throw notFound("blob", sha256);
    return blob;
  }

  async open(blob: BlobRecord, range?: ByteRange): Promise<Readable> {
    const body = await this.bytes.get(blob.sha256, range);
    if (!body) throw notFound("blob", blob.sha256);
    return body;
  }
}

/**
 * One range of an HTTP Range header (`bytes=a-b`, `bytes=a-`, `bytes=-n`), clipped to `size`.
 * Null: no usable Range (absent, or several ranges: the whole body is sent instead).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, from, to] = match;
  let start: number;
  let end: number;
  if (from === "") {
    if (to === "") return null;
    start = Math.max(0, size - Number(to));
    end = size - 1;
  } else {
    start = Number(from);
    end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start > end || start >= size) {
    throw new QgjobError("range_not_satisfiable", `range ${header} is outside 0-${size - 1}`, {
      size,
    });
  }
  return { start, end };
}
