/**
 * From a runner's outcome to the artifacts its result lists: the attempt's log and every file
 * the test left, each copied into the spool (hashed on the way) and named safely. What cannot
 * be kept is listed with the reason instead (too big, not a regular file, over the count cap,
 * a disk that could not hold it), so the result always goes out and says what is missing.
 */
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { Artifact, ArtifactKind } from "../../api/schemas.js";
import type { LocalArtifact, TestOutcome } from "../runners/runner.js";
import { contentTypeOf } from "./files.js";
import type { Spool } from "./spool.js";

export interface EvidenceLimits {
  /** Files kept per attempt, the log included; the rest are reported as one dropped entry. */
  maxFiles: number;
  maxFileBytes: number;
  maxAttemptBytes: number;
}

export const DEFAULT_LIMITS: EvidenceLimits = {
  maxFiles: 40,
  maxFileBytes: 512 * 1024 * 1024,
  maxAttemptBytes: 1024 * 1024 * 1024,
};

/** Entries for files listed as missing, beyond maxFiles (the result's list is capped at 50). */
const MISSING_ROOM = 8;
/** How many dropped files are named in the summary entry. */
const NAMED_DROPS = 5;

/**
 * A name that is safe as a relative path anywhere: forward-slash segments, none empty, `.` or
 * `..`, no control characters or backslashes, at most 200 characters.
 */
export function safeName(name: string): string {
  const segments = name
    // eslint-disable-next-line no-control-regex -- control characters are what it removes
    .replace(/[\u0000-\u001f\u007f\\:]/g, "_")
    .split("/")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s !== "." && s !== "..")
    .map((s) => (s.startsWith(".") ? `_${s.slice(1)}` : s));
  const joined = segments.join("/").slice(-200).replace(/^\/+/, "");
  return joined || "artifact";
}

export function kindOf(name: string, contentType: string): ArtifactKind {
  if (name === "output.log") return "log";
  if (/logcat/i.test(name)) return "logcat";
  if (/(^|\/)trace(\.zip)?$/i.test(name) || /trace.*\.zip$/i.test(name)) return "trace";
  if (contentType.startsWith("image/")) return "screenshot";
  if (contentType.startsWith("video/")) return "video";
  return "file";
}

/** Display names: the attachment's name, with the file's extension when the name has none. */
function displayName(a: LocalArtifact): string {
  const name = safeName(a.name);
  const ext = path.extname(a.path);
  return path.extname(name) || !ext ? name : `${name}${ext}`;
}

function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) {
    const ext = path.extname(name);
    candidate = `${name.slice(0, name.length - ext.length)}-${i}${ext}`;
  }
  taken.add(candidate);
  return candidate;
}

const mb = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MB`;

export async function collectEvidence(
  outcome: TestOutcome,
  ctx: { spool: Spool; orgId: string; limits?: EvidenceLimits },
): Promise<Artifact[]> {
  const limits = ctx.limits ?? DEFAULT_LIMITS;
  const files: LocalArtifact[] = [
    ...(outcome.logFile
      ? [{ name: "output.log", path: outcome.logFile, content_type: "text/plain" }]
      : []),
    ...outcome.artifacts,
  ];
  const out: Artifact[] = [];
  const taken = new Set<string>();
  let bytes = 0;
  let kept = 0;
  const dropped: string[] = [];
  for (const file of files) {
    const name = unique(displayName(file), taken);
    const contentType = file.content_type || contentTypeOf(name);
    const kind = kindOf(name, contentType);
    if (kept >= limits.maxFiles || out.length >= limits.maxFiles + MISSING_ROOM) {
      dropped.push(name);
      continue;
    }
    const missing = (why: string) =>
      out.push({ name, kind, content_type: contentType, missing: why });
    const refused = await whyNotKept(file.path, limits, bytes);
    if (refused) {
      missing(refused);
      continue;
    }
    try {
      const blob = await ctx.spool.addBlob(file.path, { orgId: ctx.orgId, contentType });
      bytes += blob.size;
      kept++;
      out.push({ name, kind, content_type: contentType, sha256: blob.sha256, size: blob.size });
    } catch (err) {
      missing(
        `the agent could not keep it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (dropped.length > 0) out.push(droppedEntry(dropped, limits.maxFiles));
  return out;
}

/** Why the file at `file` cannot be kept, or null; `bytes` is what the attempt keeps so far. */
async function whyNotKept(
  file: string,
  limits: EvidenceLimits,
  bytes: number,
): Promise<string | null> {
  const stat = await lstat(file).catch(() => null);
  if (!stat) return "the file was gone before the agent could read it";
  if (!stat.isFile()) {
    return stat.isSymbolicLink() ? "a symbolic link (not followed)" : "not a regular file";
  }
  if (stat.size > limits.maxFileBytes) {
    return `${mb(stat.size)}, over the ${mb(limits.maxFileBytes)} cap per file`;
  }
  if (bytes + stat.size > limits.maxAttemptBytes) {
    return `over the ${mb(limits.maxAttemptBytes)} cap per attempt`;
  }
  return null;
}

/** The files past the count cap, as one entry naming the first few. */
function droppedEntry(dropped: string[], maxFiles: number): Artifact {
  const named = dropped.slice(0, NAMED_DROPS).join(", ");
  const more = dropped.length > NAMED_DROPS ? ` and ${dropped.length - NAMED_DROPS} more` : "";
  return {
    name: `${dropped.length} more files`,
    kind: "file",
    missing: `over the cap of ${maxFiles} files per attempt: ${named}${more}`.slice(0, 500),
  };
}
