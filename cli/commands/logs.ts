import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { ApiError, type QgjobClient } from "../../api/client.js";
import { LogEnd, LogEvent } from "../../api/logs.js";
import { isTerminal } from "../../api/status.js";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  pickTarget,
  type ConnectionOptions,
} from "../connection.js";
import { CliError, EXIT } from "../exit-codes.js";

interface LogsOptions extends ConnectionOptions {
  jobId?: string;
  attempt?: string;
  follow?: boolean;
}

/** A stream lost this long in a row (a server restarting) ends the command. */
const GIVE_UP_MS = 60_000;

export function logsCommand(): Command {
  return clientCommand("logs")
    .description(
      "Print a job's output: the stored log of a finished attempt, or follow a running test.",
    )
    .option("--job-id <id>", "the job whose output to print")
    .option("--attempt <n>", "this attempt only (default: the last)")
    .option("-f, --follow", "while the test runs, print its output as it comes; end with the job")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob logs --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob logs --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E --follow\n" +
        "  qgjob logs --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E --attempt 1 > attempt-1.log\n" +
        "\nA finished job prints the attempt's stored output.log. A running one prints what the\n" +
        "server holds of its output (the last 256 KiB), and with --follow keeps printing until\n" +
        "the job ends. Messages about the stream go to stderr.\n" +
        CONNECTION_HELP,
    )
    .action(async (opts: LogsOptions) => {
      if (opts.jobId === undefined) throw new CliError("give --job-id <id>", EXIT.usage);
      const { id } = pickTarget({ jobId: opts.jobId });
      const attempt = parseAttempt(opts.attempt);
      const client = connect(opts);
      const job = await client.getJob(id);
      if (isTerminal(job.status) || (attempt !== null && attempt < job.attempts)) {
        await printStored(client, job.id, attempt ?? job.attempts);
      } else {
        await printLive(client, job.id, attempt, opts.follow === true);
      }
    });
}

function parseAttempt(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1) {
    throw new CliError(`--attempt: expected a number from 1, got '${raw}'`, EXIT.usage);
  }
  return Number(raw);
}

/** The attempt's output.log artifact, streamed to stdout. */
async function printStored(client: QgjobClient, jobId: string, attempt: number) {
  const { attempts } = await client.listArtifacts(jobId);
  const found = attempts.find((a) => a.attempt === attempt);
  const log = found?.artifacts.find((a) => a.name === "output.log");
  if (!found || !log) throw new CliError(`no stored log for attempt ${attempt} of ${jobId}`, 1);
  if (log.state !== "stored") {
    throw new CliError(
      `the log of attempt ${attempt} is ${log.state}${log.missing ? `: ${log.missing}` : ""}`,
      1,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "qgjob-logs-"));
  try {
    const file = join(dir, "output.log");
    await client.downloadArtifact({ jobId, attempt, index: log.index }, file);
    await pipeline(createReadStream(file), process.stdout, { end: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The job's live log; with `follow`, until the job ends, reconnecting where it left off. */
async function printLive(
  client: QgjobClient,
  jobId: string,
  attempt: number | null,
  follow: boolean,
) {
  let lastEventId: string | null = null;
  let lostSince: number | null = null;
  let dropped = 0;
  for (;;) {
    try {
      const events = await client.jobLogEvents(jobId, { lastEventId });
      lostSince = null;
      for await (const e of events) {
        if (e.event === "log") {
          const chunk = LogEvent.parse(JSON.parse(e.data));
          lastEventId = e.id;
          if (attempt !== null && chunk.attempt !== attempt) continue;
          dropped = chunk.dropped_bytes;
          process.stdout.write(chunk.text);
        } else if (e.event === "ready" && !follow) {
          return;
        } else if (e.event === "end") {
          const end = LogEnd.parse(JSON.parse(e.data));
          if (dropped > 0)
            process.stderr.write(
              `\nqgjob: ${dropped} bytes of output were dropped on the way (the stored log has them)\n`,
            );
          process.stderr.write(`qgjob: job ${end.status} (attempt ${end.attempt})\n`);
          return;
        }
      }
    } catch (err) {
      if (err instanceof ApiError && !err.retryable) throw err;
    }
    // The stream ended without `end`: a server restarting, a proxy timing out.
    lostSince ??= Date.now();
    if (Date.now() - lostSince > GIVE_UP_MS) {
      throw new CliError("lost the server while following the log", EXIT.server);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
