import { join } from "node:path";
import type { Command } from "commander";
import { ArtifactMismatch, saveArtifact } from "../../api/artifact-files.js";
import type { JobArtifacts, StoredArtifact } from "../../api/artifacts.js";
import type { QgjobClient } from "../../api/client.js";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  pickTarget,
  type ConnectionOptions,
} from "../connection.js";
import { CliError, EXIT } from "../exit-codes.js";

interface ArtifactsOptions extends ConnectionOptions {
  jobId?: string;
  attempt?: string;
  out?: string;
}

interface Saved {
  attempt: number;
  name: string;
  kind: string;
  state: StoredArtifact["state"];
  size: number | null;
  path: string | null;
  missing: string | null;
  /** An external artifact's address (kept by the device provider). */
  url: string | null;
}

function pickAttempts(list: JobArtifacts, attempt: string | undefined) {
  if (attempt === undefined) return list.attempts;
  const n = Number(attempt);
  if (!Number.isInteger(n) || n < 1) {
    throw new CliError(`--attempt: expected a number from 1, got '${attempt}'`, EXIT.usage);
  }
  const found = list.attempts.filter((a) => a.attempt === n);
  if (found.length === 0) {
    const have = list.attempts.map((a) => a.attempt).join(", ") || "none yet";
    throw new CliError(`job ${list.job_id} has no attempt ${n} (attempts: ${have})`, EXIT.usage);
  }
  return found;
}

const size = (n: number | null) =>
  n === null
    ? ""
    : n < 1024
      ? `${n} B`
      : n < 1 << 20
        ? `${(n / 1024).toFixed(1)} KB`
        : `${(n / (1 << 20)).toFixed(1)} MB`;

export function artifactsCommand(): Command {
  return clientCommand("artifacts")
    .description(
      "Download a job's evidence (logs, screenshots, videos, traces), attempt by attempt.",
    )
    .option("--job-id <id>", "the job whose evidence to download")
    .option("--attempt <n>", "only this attempt (default: every attempt)")
    .option("--out <dir>", "where to put the files (default: ./qgjob-artifacts/<job id>)")
    .addHelpText(
      "after",
      "\nFiles land in <out>/attempt-<n>/<name>, byte-identical to what the agent uploaded\n" +
        "(each is checked against its SHA-256). Files the agent has not uploaded yet, or could\n" +
        "not keep, are listed with the reason. Exits 0 when every stored file was saved.\n" +
        "\nExamples:\n" +
        "  qgjob artifacts --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob artifacts --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E --attempt 1 --out ./evidence\n" +
        CONNECTION_HELP,
    )
    .action(downloadArtifacts);
}

async function downloadArtifacts(opts: ArtifactsOptions) {
  if (opts.jobId === undefined) throw new CliError("give --job-id <id>", EXIT.usage);
  const { id } = pickTarget({ jobId: opts.jobId });
  const client = connect(opts);
  const list = await client.listArtifacts(id);
  const dir = opts.out ?? join("qgjob-artifacts", id);
  const saved: Saved[] = [];
  for (const a of pickAttempts(list, opts.attempt)) {
    for (const art of a.artifacts) {
      const entry = await saveOne(client, { jobId: id, attempt: a.attempt }, art, dir);
      saved.push(entry);
      if (!opts.json) process.stdout.write(line(entry));
    }
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ job_id: id, files: saved }, null, 2) + "\n");
  } else if (saved.length === 0) {
    process.stdout.write(
      `job ${id} has no evidence${opts.attempt ? ` in attempt ${opts.attempt}` : ""}\n`,
    );
  }
}

/** Downloads one artifact when the server holds it; either way, says what became of it. */
async function saveOne(
  client: QgjobClient,
  ref: { jobId: string; attempt: number },
  art: StoredArtifact,
  dir: string,
): Promise<Saved> {
  const entry: Saved = {
    attempt: ref.attempt,
    name: art.name,
    kind: art.kind,
    state: art.state,
    size: art.size,
    path: null,
    missing: art.missing,
    url: art.state === "external" ? art.url : null,
  };
  if (art.state === "stored") {
    entry.path = await saveArtifact(client, ref, art, dir).catch((err: unknown) => {
      if (err instanceof ArtifactMismatch) throw new CliError(err.message, EXIT.server);
      throw err;
    });
  }
  return entry;
}

function line(e: Saved): string {
  const what = `attempt ${e.attempt}  ${e.kind.padEnd(10)} ${e.name}`;
  if (e.path) return `${what}  ${size(e.size)}  -> ${e.path}\n`;
  return `${what}  ${e.state}: ${e.missing ?? e.url ?? "not stored"}\n`;
}
