import type { Command } from "commander";
import { Option } from "commander";
import { TARGETS } from "../../api/schemas.js";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  pickTarget,
  type ConnectionOptions,
} from "../connection.js";
import { parseTimeoutOption } from "../duration.js";
import { CliError, EXIT } from "../exit-codes.js";
import { waitAndReport } from "../follow.js";
import { formatTally, tallyFromCounts } from "../../report/tally.js";

interface RerunOptions extends ConnectionOptions {
  runId?: string;
  target?: (typeof TARGETS)[number];
  wait?: boolean;
  timeout?: string;
}

export function rerunCommand(): Command {
  return clientCommand("rerun")
    .description("Queue a run's failed tests again (failed, errored, timed out or cancelled).")
    .argument("[run-id]", "the run whose failed tests to run again (run_…)")
    .option("--run-id <id>", "the run whose failed tests to run again")
    .addOption(new Option("--target <target>", "only the tests of this target").choices(TARGETS))
    .option("--wait", "wait for the run to end, with live progress, and exit with its outcome")
    .option("--timeout <duration>", "with --wait: give up after this long (30m, 90s, or seconds)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob rerun run_01JD8ZK3V4QH6T2X0M9B5C7R1E --wait\n" +
        "  qgjob rerun --run-id run_01JD8ZK3V4QH6T2X0M9B5C7R1E --target browserstack --json\n" +
        "\nEach failed test gets a new job in the same run; the run's status and counts then\n" +
        "follow the new jobs, and the old ones stay readable as history. Running it twice queues\n" +
        "nothing new the second time. Exits 0 when nothing had failed.\n" +
        CONNECTION_HELP,
    )
    .action(async (runId: string | undefined, opts: RerunOptions) => {
      const { id } = pickTarget({ runId: opts.runId }, runId, "run");
      if (opts.timeout !== undefined && !opts.wait) {
        throw new CliError("--timeout is how long --wait waits: add --wait", EXIT.usage);
      }
      const timeoutMs = parseTimeoutOption(opts.timeout);
      const client = connect(opts);
      const run = await client.rerunFailed(id, { target: opts.target });
      if (opts.json && !opts.wait) {
        process.stdout.write(JSON.stringify(run, null, 2) + "\n");
        return;
      }
      if (!opts.json) {
        const n = run.rerun_job_ids.length;
        const what = n === 0 ? "nothing had failed" : `${n} test${n === 1 ? "" : "s"} queued again`;
        process.stdout.write(
          `run ${run.id}  ${what}  ${run.status}  ${formatTally(tallyFromCounts(run.counts))}\n`,
        );
      }
      if (opts.wait) {
        await waitAndReport(
          client,
          { kind: "run", id: run.id },
          { json: opts.json === true, timeoutMs },
        );
      }
    });
}
