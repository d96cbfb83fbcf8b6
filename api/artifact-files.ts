/**
 * A job's evidence saved to local files, byte-identical to what the agent uploaded: for
 * `qgjob artifacts` and for the Action's JUnit attachments alike.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { StoredArtifact } from "./artifacts.js";
import type { QgjobClient } from "./client.js";

/**
 * Where a listed name lands under `dir`: the name comes from an agent, so `..`, `.` and empty
 * segments are dropped (an absolute or climbing name stays inside `dir`).
 */
export function localPath(dir: string, attempt: number, name: string): string {
  const parts = name.split(/[\\/]+/).filter((p) => p !== "" && p !== "." && p !== "..");
  return resolve(dir, `attempt-${attempt}`, ...(parts.length > 0 ? parts : ["artifact"]));
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class ArtifactMismatch extends Error {
  override name = "ArtifactMismatch";
}

/**
 * Downloads one stored artifact of `jobId`'s attempt to `localPath(dir, …)` and returns that
 * path. A partial or corrupt download never sits under the real name.
 */
export async function saveArtifact(
  client: Pick<QgjobClient, "downloadArtifact">,
  ref: { jobId: string; attempt: number; sig?: string },
  art: Pick<StoredArtifact, "index" | "name" | "sha256">,
  dir: string,
): Promise<string> {
  const path = localPath(dir, ref.attempt, art.name);
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.part`;
  await client.downloadArtifact({ ...ref, index: art.index }, partial);
  if (art.sha256 && (await sha256Of(partial)) !== art.sha256) {
    await rm(partial, { force: true });
    throw new ArtifactMismatch(`${art.name}: the download does not match its SHA-256`);
  }
  await rename(partial, path);
  return path;
}
