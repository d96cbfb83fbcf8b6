import { Option } from "commander";
import type { Command } from "commander";
import { AGENT_STATES, TARGETS } from "../../api/schemas.js";
import { clientCommand, connect, CONNECTION_HELP, type ConnectionOptions } from "../connection.js";
import { limitOption, printList } from "../list.js";
import { when } from "../style.js";

interface AgentsOptions extends ConnectionOptions {
  target?: (typeof TARGETS)[number];
  state?: (typeof AGENT_STATES)[number];
  limit: number;
}

function undrainCommand(): Command {
  return clientCommand("undrain")
    .description("Undrain an agent drained for its infrastructure errors: it takes work again.")
    .argument("<agent-id>", "the drained agent (qgjob agents lists them)")
    .addHelpText("after", "\nExamples:\n  qgjob agents undrain agt_01JD...\n" + CONNECTION_HELP)
    .action(async (id: string, opts: ConnectionOptions) => {
      const agent = await connect(opts).undrainAgent(id);
      if (opts.json) process.stdout.write(JSON.stringify(agent, null, 2) + "\n");
      else process.stdout.write(`${agent.id} (${agent.name}): undrained, takes work again\n`);
    });
}

export function agentsCommand(): Command {
  return clientCommand("agents")
    .description(
      "List agents: state (drained: takes no work, for its infrastructure errors), target, device, the lease they hold, last heartbeat.",
    )
    .addOption(new Option("--target <target>", "only agents for this target").choices(TARGETS))
    .addOption(new Option("--state <state>", "only agents in this state").choices(AGENT_STATES))
    .addOption(limitOption())
    .addHelpText(
      "after",
      "\nExamples:\n  qgjob agents\n  qgjob agents --state busy --json\n  qgjob agents undrain agt_01JD...\n" +
        CONNECTION_HELP,
    )
    .action(async (opts: AgentsOptions) => {
      const { items } = await connect(opts).listAgents();
      const agents = items
        .filter((a) => (opts.target ? a.target === opts.target : true))
        .filter((a) => (opts.state ? a.state === opts.state : true))
        .slice(0, opts.limit);
      printList(agents, opts.json, {
        header: ["AGENT", "NAME", "STATE", "TARGET", "DEVICE", "LEASE", "LAST SEEN"],
        status: [2],
        empty: "no agents",
        row: (a, style) => [
          a.id,
          a.name,
          a.drained_at ? "drained" : a.state,
          a.target,
          a.device ?? "",
          a.lease_id ?? "",
          when(style, a.last_seen_at),
        ],
      });
    })
    .enablePositionalOptions()
    .addCommand(undrainCommand());
}
