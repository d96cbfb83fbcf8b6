/**
 * Links from the job summary to each failure's evidence on the server (its page, log,
 * screenshots, trace). The server signs them (the artifact listing with share=true), so people
 * reading the summary open them without an API token.
 */
import type { QgjobClient } from "../api/client.js";
import type { Job } from "../api/schemas.js";
import { isFailed } from "../api/status.js";
import { shareEvidence, type SharedEvidence } from "../report/evidence.js";
import type { Log } from "./log.js";

/** Failures linked: one listing request each. */
export const LINKED_FAILURES = 20;

export async function failureEvidence(
  client: Pick<QgjobClient, "listArtifacts">,
  jobs: readonly Job[],
  serverUrl: string,
  log: Log,
): Promise<Map<string, SharedEvidence>> {
  const linked = new Map<string, SharedEvidence>();
  for (const job of jobs.filter(isFailed).slice(0, LINKED_FAILURES)) {
    try {
      const { page } = await client.listArtifacts(job.id, { share: true });
      const sig = new URL(page, "http://server").searchParams.get("sig");
      if (sig) linked.set(job.id, shareEvidence(job, { base: serverUrl, sig }));
    } catch (err) {
      log.warning(`qgjob: no evidence links in the summary: ${(err as Error).message}`);
      break;
    }
  }
  return linked;
}
