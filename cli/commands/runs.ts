import { Command, Option } from "commander";
import { RUN_STATUSES } from "../../api/status.js";
import { formatTally, tallyFromCounts } from "../../report/tally.js";
import { clientCommand, connect, CONNECTION_HELP, type ConnectionOptions } from "../connection.js";
import { collectPages, limitOption, printList } from "../list.js";
import { when } from "../style.js";

interface RunsListOptions extends ConnectionOptions {
  orgId?: string;
  status?: (typeof RUN_STATUSES)[number];
  appVersionId?: string;
  limit: number;
}

export function runsCommand(): Command {
  const list = clientCommand("list")
    .description("List runs, newest first: status, org, source, app versions, counts, age.")
    .option("--org-id <id>", "only this org's runs")
    .addOption(new Option("--status <status>", "only runs in this status").choices(RUN_STATUSES))
    .option("--app-version-id <id>", "only runs with a job for this app version")
    .addOption(limitOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob runs list\n" +
        "  qgjob runs list --status failed --limit 5\n" +
        "  qgjob runs list --org-id qualgent --json | jq -r '.items[].id'\n" +
        CONNECTION_HELP,
    )
    .action(async (opts: RunsListOptions) => {
      const client = connect(opts);
      const runs = await collectPages(opts.limit, (page) =>
        client.listRuns({
          ...page,
          org_id: opts.orgId,
          status: opts.status,
          app_version_id: opts.appVersionId,
        }),
      );
      printList(runs, opts.json, {
        header: ["RUN", "STATUS", "ORG", "SOURCE", "APP VERSION", "TESTS", "CREATED"],
        status: [1],
        empty: "no runs",
        row: (r, style) => [
          r.id,
          r.status,
          r.org_id,
          r.repo ? `${r.source} ${r.repo}` : r.source,
          r.app_version_ids.join(","),
          `${r.counts.total} · ${formatTally(tallyFromCounts(r.counts))}`,
          when(style, r.created_at),
        ],
      });
    });
  return new Command("runs").description("List runs.").addCommand(list);
}
