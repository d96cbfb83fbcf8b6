/**
 * A failed or flaky test's evidence, downloaded next to the JUnit report (input
 * junit-attachments) so the report can name it as `[[ATTACHMENT|path]]`: Jenkins'
 * junit-attachments plugin and GitLab read such paths from the local disk (relative to the
 * workspace, or absolute) and keep the files with the test; a link into the server would expire
 * with the evidence.
 */
import { isAbsolute, join, relative, sep } from "node:path";
import { saveArtifact } from "../api/artifact-files.js";
import type { JobArtifacts } from "../api/artifacts.js";
import type { QgjobClient } from "../api/client.js";
import type { Job } from "../api/schemas.js";
import { isFailed } from "../api/status.js";
import { LINKED_FAILURES } from "./evidence.js";
import type { Log } from "./log.js";

/** The evidence folder, beside the report. */
export const ATTACHMENTS_DIR = "qgjob-evidence";

/** How long the report waits, all jobs together, for uploads the agents have not finished. */
export const UPLOAD_WAIT_MS = 30_000;

type Client = Pick<QgjobClient, "listArtifacts" | "downloadArtifact">;

interface Options {
  /** Paths inside it are written relative to it (GitLab's project directory, Jenkins' workspace). */
  workspace: string;
  log: Log;
  waitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A job's evidence on the local disk, and what of it is not (file, attempt, why). */
export interface Attached {
  paths: string[];
  left: string[];
}

/**
 * Downloads every attempt's stored evidence of the failed and flaky jobs (at most
 * LINKED_FAILURES of them) under `dir/<job id>/attempt-<n>/`, and returns each job's files as
 * the report names them. A download that fails is a warning: the report is still written.
 */
export async function downloadAttachments(
  client: Client,
  jobs: readonly Job[],
  dir: string,
  opts: Options,
): Promise<Map<string, Attached>> {
  const deadline = Date.now() + (opts.waitMs ?? UPLOAD_WAIT_MS);
  const attached = new Map<string, Attached>();
  const wanted = jobs.filter((j) => isFailed(j) || j.flaky).slice(0, LINKED_FAILURES);
  for (const job of wanted) {
    try {
      const list = await settledListing(client, job.id, deadline, opts.sleep ?? pause);
      const found: Attached = { paths: [], left: [] };
      for (const attempt of list.attempts) {
        for (const art of attempt.artifacts) {
          if (art.state !== "stored") {
            const why = art.state === "pending" ? "not uploaded yet" : (art.missing ?? art.url);
            found.left.push(`${art.name} (attempt ${attempt.attempt}): ${why}`);
            continue;
          }
          const ref = { jobId: job.id, attempt: attempt.attempt };
          const path = await saveArtifact(client, ref, art, join(dir, job.id));
          found.paths.push(reportPath(opts.workspace, path));
        }
      }
      attached.set(job.id, found);
    } catch (err) {
      opts.log.warning(`qgjob: evidence of ${job.test_path} not attached: ${errorText(err)}`);
    }
  }
  return attached;
}

/** The listing once no upload is pending, or as it is when the deadline passes. */
async function settledListing(
  client: Client,
  jobId: string,
  deadline: number,
  sleep: (ms: number) => Promise<void>,
): Promise<JobArtifacts> {
  for (;;) {
    const list = await client.listArtifacts(jobId);
    const pending = list.attempts.some((a) => a.artifacts.some((x) => x.state === "pending"));
    if (!pending || Date.now() >= deadline) return list;
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
  }
}

function reportPath(workspace: string, path: string): string {
  const rel = relative(workspace, path);
  if (rel.startsWith("..") || isAbsolute(rel)) return path;
  return rel.split(sep).join("/");
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
