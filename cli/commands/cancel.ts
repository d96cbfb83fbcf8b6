import type { Command } from "commander";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  pickTarget,
  type ConnectionOptions,
} from "../connection.js";
import { formatTally, tallyFromCounts } from "../../report/tally.js";

interface CancelOptions extends ConnectionOptions {
  runId?: string;
  jobId?: string;
}

export function cancelCommand(): Command {
  return clientCommand("cancel")
    .description("Cancel a run (every job not yet finished) or one job.")
    .argument("[id]", "a run id (run_…) or a job id (job_…)")
    .option("--run-id <id>", "the run to cancel")
    .option("--job-id <id>", "the job to cancel")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob cancel run_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob cancel --job-id job_01JD8ZK3V4QH6T2X0M9B5C7R1E --json\n" +
        "\nJobs that already ended keep their outcome. Exits 0 once the server has the\n" +
        "cancellation, also when there was nothing left to cancel.\n" +
        CONNECTION_HELP,
    )
    .action(async (id: string | undefined, opts: CancelOptions) => {
      const target = pickTarget(opts, id);
      const client = connect(opts);
      if (target.kind === "run") {
        const run = await client.cancelRun(target.id);
        if (opts.json) {
          process.stdout.write(JSON.stringify(run, null, 2) + "\n");
          return;
        }
        const t = tallyFromCounts(run.counts);
        process.stdout.write(`run ${run.id}  ${run.status}  ${formatTally(t)}\n`);
      } else {
        const job = await client.cancelJob(target.id);
        if (opts.json) {
          process.stdout.write(JSON.stringify(job, null, 2) + "\n");
          return;
        }
        const note = job.status === "cancelled" ? "" : " (it had already ended; nothing to cancel)";
        process.stdout.write(`job ${job.id}  ${job.status}  ${job.test_path}${note}\n`);
      }
    });
}
