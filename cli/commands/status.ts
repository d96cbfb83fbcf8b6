import type { Command } from "commander";
import type { Job, RunWithJobs } from "../../api/schemas.js";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  ExitStatus,
  pickTarget,
  type ConnectionOptions,
} from "../connection.js";
import { exitCodeFor, formatJob, formatRun } from "../output.js";
import { styleFor } from "../style.js";

interface StatusOptions extends ConnectionOptions {
  runId?: string;
  jobId?: string;
}

export function statusCommand(): Command {
  return clientCommand("status")
    .description("Show a run or a job: a table of its jobs (test, status, attempts, failure).")
    .argument("[id]", "a run id (run_…) or a job id (job_…)")
    .option("--run-id <id>", "the run to show")
    .option("--job-id <id>", "the job to show")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob status run_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob status --job-id=job_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob status --run-id run_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob status --run-id run_01JD8ZK3V4QH6T2X0M9B5C7R1E --json | jq .counts\n" +
        "\nstatus is informational: it exits 0 while the run is queued or running and when it\n" +
        "passed, 1 when a test failed (failed, error, timed out) or it was cancelled.\n" +
        CONNECTION_HELP,
    )
    .action(async (id: string | undefined, opts: StatusOptions) => {
      const target = pickTarget(opts, id);
      const client = connect(opts);
      const style = styleFor(process.stdout);
      let found: RunWithJobs | Job;
      if (target.kind === "run") {
        const run = await client.getRun(target.id);
        process.stdout.write(
          opts.json ? JSON.stringify(run, null, 2) + "\n" : formatRun(run, style),
        );
        found = run;
      } else {
        const job = await client.getJob(target.id);
        process.stdout.write(
          opts.json ? JSON.stringify(job, null, 2) + "\n" : formatJob(job, style),
        );
        found = job;
      }
      const code = exitCodeFor(found.status);
      if (code !== 0) throw new ExitStatus(code);
    });
}
