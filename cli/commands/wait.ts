import type { Command } from "commander";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  pickTarget,
  type ConnectionOptions,
} from "../connection.js";
import { parseTimeoutOption } from "../duration.js";
import { waitAndReport } from "../follow.js";

interface WaitOptions extends ConnectionOptions {
  runId?: string;
  jobId?: string;
  timeout?: string;
}

export function waitCommand(): Command {
  return clientCommand("wait")
    .description(
      "Wait for a run or a job to end, showing live progress, and exit with its outcome.",
    )
    .argument("[id]", "a run id (run_…) or a job id (job_…)")
    .option("--run-id <id>", "the run to wait for")
    .option("--job-id <id>", "the job to wait for")
    .option("--timeout <duration>", "give up after this long (30m, 90s, 1h30m, or seconds); exit 4")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob wait run_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob wait --run-id run_01JD8ZK3V4QH6T2X0M9B5C7R1E --timeout 30m\n" +
        "  qgjob wait --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E --json > result.json\n" +
        "\nOn a terminal one status line is updated in place; in CI logs a line is printed each\n" +
        "time the counts change, and one per job as it ends. --json prints only the final run\n" +
        "(or job) on stdout. Without --timeout it waits until the end; Ctrl-C stops waiting,\n" +
        "not the run.\n" +
        CONNECTION_HELP,
    )
    .action(async (id: string | undefined, opts: WaitOptions) => {
      const target = pickTarget(opts, id);
      const timeoutMs = parseTimeoutOption(opts.timeout);
      const client = connect(opts);
      await waitAndReport(client, target, { json: opts.json === true, timeoutMs });
    });
}
