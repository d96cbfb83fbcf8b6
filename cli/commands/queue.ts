import { Option } from "commander";
import type { Command } from "commander";
import { TARGETS } from "../../api/schemas.js";
import { formatDuration } from "../../report/duration.js";
import { clientCommand, connect, CONNECTION_HELP, type ConnectionOptions } from "../connection.js";
import { limitOption } from "../list.js";
import { table } from "../output.js";
import { styleFor, when } from "../style.js";

interface QueueOptions extends ConnectionOptions {
  target?: (typeof TARGETS)[number];
  limit: number;
}

export function queueCommand(): Command {
  return clientCommand("queue")
    .description(
      "Show the queue: jobs and agents per target, then the groups waiting, oldest first.",
    )
    .addOption(new Option("--target <target>", "only this target").choices(TARGETS))
    .addOption(limitOption())
    .addHelpText(
      "after",
      "\nExamples:\n  qgjob queue\n  qgjob queue --target emulator --json\n" + CONNECTION_HELP,
    )
    .action(async (opts: QueueOptions) => {
      const queue = await connect(opts).queue();
      const targets = queue.targets.filter((t) => !opts.target || t.target === opts.target);
      const groups = queue.groups
        .filter((g) => !opts.target || g.target === opts.target)
        .slice(0, opts.limit);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ targets, groups }, null, 2) + "\n");
        return;
      }
      const style = styleFor(process.stdout);
      const perTarget = table(
        ["TARGET", "QUEUED", "LEASED", "RUNNING", "AGENTS IDLE", "AGENTS BUSY"],
        targets.map((t) =>
          [t.target, t.queued, t.leased, t.running, t.agents_idle, t.agents_busy].map(String),
        ),
      );
      const waiting =
        groups.length === 0
          ? "nothing queued"
          : table(
              [
                "ORG",
                "APP VERSION",
                "TARGET",
                "JOBS",
                "PRIORITY",
                "WAITING SINCE",
                "EXPECTED WORK",
                "DEVICES ON IT",
              ],
              groups.map((g) => [
                g.org_id,
                g.app_version_id,
                g.target,
                String(g.queued),
                String(g.priority),
                when(style, g.oldest_queued_at),
                formatDuration(g.expected_work_s * 1000),
                String(g.active_leases),
              ]),
            );
      process.stdout.write(`${perTarget}\n\n${waiting}\n`);
    });
}
