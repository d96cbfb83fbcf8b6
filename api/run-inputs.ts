/**
 * What a submitter sends besides the test paths: the test project packed as a bundle, and an
 * app build file, each uploaded as a content-addressed blob (nothing is sent when the server
 * holds the hash already). The CLI and the Action both submit through these.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { pipeline } from "node:stream/promises";
import { packBundle, removePacked } from "./bundle.js";
import type { QgjobClient } from "./client.js";
import type { BuildRef, BundleRef } from "./schemas.js";

export interface UploadedBundle {
  ref: BundleRef;
  size: number;
  files: number;
  /** False when the server held the hash already (a re-run). */
  uploaded: boolean;
  packMs: number;
  uploadMs: number;
}

/** Packs `dir` (api/bundle.ts) and uploads it for `orgId`. */
export async function uploadBundle(
  client: QgjobClient,
  orgId: string,
  dir: string,
  sourceSha?: string,
): Promise<UploadedBundle> {
  const t0 = performance.now();
  const packed = await packBundle(dir);
  const t1 = performance.now();
  try {
    const blob = await client.uploadBlob(
      { path: packed.file, sha256: packed.sha256, bytes: packed.size },
      { org_id: orgId, kind: "bundle" },
    );
    const ref: BundleRef = { sha256: packed.sha256 };
    if (sourceSha !== undefined) ref.source_sha = sourceSha;
    return {
      ref,
      size: packed.size,
      files: packed.files.length,
      uploaded: blob.uploaded,
      packMs: t1 - t0,
      uploadMs: performance.now() - t1,
    };
  } finally {
    await removePacked(packed);
  }
}

/** Uploads an app build file for `orgId`, named by its hash; the run records its file name. */
export async function uploadBuild(
  client: QgjobClient,
  orgId: string,
  file: string,
): Promise<{ ref: BuildRef; size: number; uploaded: boolean }> {
  const { size } = await stat(file);
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  const sha256 = hash.digest("hex");
  const blob = await client.uploadBlob(
    { path: file, sha256, bytes: size },
    { org_id: orgId, kind: "build" },
  );
  return { ref: { sha256, name: basename(file) }, size, uploaded: blob.uploaded };
}

/** The commit checked out in `dir`, when it is a git work tree (and git is installed). */
export function checkedOutCommit(dir: string): string | undefined {
  try {
    const sha = execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return sha || undefined;
  } catch {
    return undefined;
  }
}
