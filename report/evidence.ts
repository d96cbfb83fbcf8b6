/**
 * A failed job's evidence for people who read about it outside the dashboard (a check run, an
 * Action summary): its page and its last attempt's log, screenshots, trace and video, as links
 * into the server that carry a signed token for that job, so a reviewer needs no API token.
 */
import { artifactPath, jobPagePath, traceViewerUrl } from "../api/artifacts.js";
import type { ArtifactKind, Job } from "../api/schemas.js";

export interface SharedLink {
  label: string;
  url: string;
}

export interface SharedEvidence {
  /** The job's dashboard page. */
  page: string;
  /** The last attempt's files worth opening first, at most SHARED_FILES. */
  files: SharedLink[];
}

/** Links per failure: a check run's text is 64 KB for every failure together. */
export const SHARED_FILES = 5;

const FIRST: ArtifactKind[] = ["log", "screenshot", "trace", "video", "logcat", "file"];

const isWebUrl = (url: string | undefined) => /^https?:\/\//i.test(url ?? "");

/**
 * Links into `base` (the server's address) from the job's whole result, its last attempt's:
 * files the agent kept (uploaded, or still uploading), and a provider's own http(s) links. A
 * trace opens in the server's trace viewer.
 */
export function shareEvidence(
  job: Pick<Job, "id" | "attempts" | "result">,
  ctx: { base: string; sig: string },
): SharedEvidence {
  const base = ctx.base.replace(/\/+$/, "");
  const sig = encodeURIComponent(ctx.sig);
  const files = (job.result?.artifacts ?? [])
    .map((a, index) => ({ a, index, kind: a.kind ?? "file" }))
    .filter(({ a }) => !a.missing && (a.sha256 || isWebUrl(a.url)))
    .sort((x, y) => FIRST.indexOf(x.kind) - FIRST.indexOf(y.kind) || x.index - y.index)
    .slice(0, SHARED_FILES)
    .map(({ a, index, kind }) => {
      if (!a.sha256) return { label: a.name, url: a.url! };
      const download = `${artifactPath(job.id, job.attempts, index)}?sig=${sig}`;
      return kind === "trace"
        ? { label: `${a.name} (trace viewer)`, url: base + traceViewerUrl(download) }
        : { label: a.name, url: base + download };
    });
  return { page: base + jobPagePath(job.id, ctx.sig), files };
}
