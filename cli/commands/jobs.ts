import { Command, Option } from "commander";
import { TARGETS } from "../../api/schemas.js";
import { JOB_STATUSES } from "../../api/status.js";
import { duration } from "../../report/job-line.js";
import { clientCommand, connect, CONNECTION_HELP, type ConnectionOptions } from "../connection.js";
import { collectPages, limitOption, printList } from "../list.js";
import { when } from "../style.js";

interface JobsListOptions extends ConnectionOptions {
  runId?: string;
  orgId?: string;
  status?: (typeof JOB_STATUSES)[number];
  appVersionId?: string;
  target?: (typeof TARGETS)[number];
  limit: number;
}

export function jobsCommand(): Command {
  const list = clientCommand("list")
    .description("List jobs, newest first: test, status, attempts, duration, agent.")
    .option("--run-id <id>", "only this run's jobs")
    .option("--org-id <id>", "only this org's jobs")
    .addOption(new Option("--status <status>", "only jobs in this status").choices(JOB_STATUSES))
    .option("--app-version-id <id>", "only jobs for this app version")
    .addOption(new Option("--target <target>", "only jobs for this target").choices(TARGETS))
    .addOption(limitOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob jobs list --run-id run_01JD8ZK3V4QH6T2X0M9B5C7R1E\n" +
        "  qgjob jobs list --status failed --target emulator --limit 100\n" +
        CONNECTION_HELP,
    )
    .action(async (opts: JobsListOptions) => {
      const client = connect(opts);
      const jobs = await collectPages(opts.limit, (page) =>
        client.listJobs({
          ...page,
          run_id: opts.runId,
          org_id: opts.orgId,
          status: opts.status,
          app_version_id: opts.appVersionId,
          target: opts.target,
        }),
      );
      printList(jobs, opts.json, {
        header: ["JOB", "TEST", "STATUS", "TRIES", "DURATION", "AGENT", "FINISHED"],
        status: [2],
        empty: "no jobs",
        row: (j, style) => [
          j.id,
          j.test_path,
          j.status,
          String(j.attempts),
          duration(j),
          j.agent_id ?? "",
          when(style, j.finished_at),
        ],
      });
    });
  return new Command("jobs").description("List jobs.").addCommand(list);
}
