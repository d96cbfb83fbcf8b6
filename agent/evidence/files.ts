/**
 * The files a test left in its artifacts folder, and the content type each is served with.
 * Only regular files count: a symlink (which could point anywhere on the device) is listed
 * with a reason instead of being followed.
 */
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { LocalArtifact } from "../runners/runner.js";

const TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".webm": "video/webm",
  ".mp4": "video/mp4",
  ".zip": "application/zip",
  ".json": "application/json",
  ".xml": "application/xml",
  ".html": "text/html",
  ".txt": "text/plain",
  ".log": "text/plain",
  ".md": "text/markdown",
};

export function contentTypeOf(name: string): string {
  return TYPES[path.extname(name).toLowerCase()] ?? "application/octet-stream";
}

/** Every regular file under `dir`, named by its path inside it (forward slashes), sorted. */
export async function listArtifactFiles(dir: string): Promise<LocalArtifact[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch {
    return [];
  }
  const out: LocalArtifact[] = [];
  for (const rel of entries.sort()) {
    const file = path.join(dir, rel);
    const stat = await lstat(file).catch(() => null);
    if (!stat || stat.isDirectory()) continue;
    const name = rel.split(path.sep).join("/");
    out.push({ name, path: file, content_type: contentTypeOf(name) });
  }
  return out;
}
