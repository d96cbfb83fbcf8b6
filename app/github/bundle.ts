/**
 * The test project at the pushed commit, stored as the run's bundle, so the check on commit X
 * runs X's tests and agents never need git credentials. GitHub's tarball of the commit
 * (`repos.downloadTarballArchive`) is streamed, only the config's `root` folder is unpacked (with
 * the checks every bundle passes: api/bundle.ts), and that folder is packed as `qgjob submit`
 * packs a clean checkout of it: the same files give the same hash, whichever door sent them.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import {
  BUNDLE_MAX_UNPACKED_BYTES,
  BundleError,
  packBundle,
  removePacked,
  type PackedBundle,
  unpackBundle,
} from "../../api/bundle.js";
import type { BundleRef } from "../../api/schemas.js";
import type { Blobs } from "../blobs/service.js";
import { QgjobError, type ErrorCode } from "../errors.js";
import type { Octokit } from "./repo-reader.js";
import type { CommitRef } from "./submit.js";

/** A whole repository's archive may take this long to arrive (a request's timeout is shorter). */
const ARCHIVE_TIMEOUT_MS = 10 * 60_000;

/** The run's bundle, or why the commit's test project cannot be one (a problem for its author). */
export type CommitBundle =
  { ok: true; bundle: BundleRef; files: number; bytes: number } | { ok: false; problem: string };

/**
 * The archive's entries are `<owner>-<repo>-<short sha>/<path>`: the bundle is what lies under
 * `root` (the whole repository when it is empty).
 */
export function rootSelector(root: string) {
  return (name: string): string | null => {
    const slash = name.indexOf("/");
    const inRepo = slash === -1 ? "" : name.slice(slash + 1);
    if (root === "") return inRepo === "" ? "." : inRepo;
    if (inRepo === root) return ".";
    return inRepo.startsWith(`${root}/`) ? inRepo.slice(root.length + 1) : null;
  };
}

export async function bundleCommit(
  octokit: Octokit,
  blobs: Blobs,
  commit: CommitRef,
  root: string,
  orgId: string,
  now: number,
): Promise<CommitBundle> {
  const work = await mkdtemp(join(tmpdir(), "qgjob-github-bundle-"));
  const project = join(work, "project");
  try {
    const refused = await unpackCommit(octokit, commit, root, project);
    if (refused) return unusable(root, refused.message);
    const packed = await packBundle(project).catch((err: unknown) => {
      if (err instanceof BundleError) return err;
      throw err;
    });
    if (packed instanceof BundleError) return unusable(root, packed.message);
    try {
      return await storeBundle(blobs, packed, commit, root, orgId, now);
    } finally {
      await removePacked(packed);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Streams the commit's archive into `project`, `root` only; a BundleError is the project's. */
async function unpackCommit(
  octokit: Octokit,
  commit: CommitRef,
  root: string,
  project: string,
): Promise<BundleError | null> {
  const res = await octokit.rest.repos.downloadTarballArchive({
    owner: commit.owner,
    repo: commit.repo,
    ref: commit.sha,
    // The body is streamed to disk, never held whole, and may take longer than an API call.
    request: { parseSuccessResponseBody: false, signal: AbortSignal.timeout(ARCHIVE_TIMEOUT_MS) },
  });
  const body = Readable.fromWeb(res.data as unknown as ReadableStream<Uint8Array>);
  const capped = new ByteCap(BUNDLE_MAX_UNPACKED_BYTES);
  // A lost connection is GitHub's moment (the delivery is tried again), not the project's fault.
  let lost: Error | null = null;
  body.on("error", (err) => capped.destroy((lost = err)));
  try {
    await unpackBundle(body.pipe(capped), project, { select: rootSelector(root) });
    return null;
  } catch (err) {
    body.destroy();
    if (lost) throw lost;
    if (err instanceof BundleError) return err;
    throw err;
  }
}

async function storeBundle(
  blobs: Blobs,
  packed: PackedBundle,
  commit: CommitRef,
  root: string,
  orgId: string,
  now: number,
): Promise<CommitBundle> {
  try {
    const { blob } = await blobs.upload(
      {
        orgId,
        sha256: packed.sha256,
        kind: "bundle",
        declaredBytes: packed.size,
        body: createReadStream(packed.file),
      },
      now,
    );
    return {
      ok: true,
      bundle: { sha256: blob.sha256, source_sha: commit.sha },
      files: packed.files.length,
      bytes: blob.size,
    };
  } catch (err) {
    if (err instanceof QgjobError && PROBLEMS.has(err.code)) return unusable(root, err.message);
    throw err;
  }
}

/** Refusals of the bundle itself; anything else (storage down) is tried again later. */
const PROBLEMS = new Set<ErrorCode>(["payload_too_large", "invalid_bundle"]);

const unusable = (root: string, why: string): CommitBundle => ({
  ok: false,
  problem: `root: the test project (${root === "" ? "the repository" : root}) cannot be sent to the agents: ${why}`,
});

/** Fails the archive's stream past `max` bytes (a repository too large to fetch). */
class ByteCap extends Transform {
  private bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(new BundleError(`the archive is over ${this.max} bytes`));
    else done(null, chunk);
  }
}
