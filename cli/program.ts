/** The `qgjob` command tree. Commands live in ./commands, one module each. */
import { Command, CommanderError } from "commander";
import { ApiError } from "../api/client.js";
import { ConfigError } from "../app/config.js";
import { VERSION } from "../app/version.js";
import { agentCommand } from "./commands/agent.js";
import { agentsCommand } from "./commands/agents.js";
import { artifactsCommand } from "./commands/artifacts.js";
import { cancelCommand } from "./commands/cancel.js";
import { jobsCommand } from "./commands/jobs.js";
import { logsCommand } from "./commands/logs.js";
import { queueCommand } from "./commands/queue.js";
import { rerunCommand } from "./commands/rerun.js";
import { runsCommand } from "./commands/runs.js";
import { serverCommand } from "./commands/server.js";
import { statusCommand } from "./commands/status.js";
import { submitCommand } from "./commands/submit.js";
import { tokenCommand } from "./commands/token.js";
import { testsCommand } from "./commands/tests.js";
import { waitCommand } from "./commands/wait.js";
import { describeApiError, ExitStatus } from "./connection.js";
import { CliError, EXIT } from "./exit-codes.js";

export function buildProgram(): Command {
  const program = new Command("qgjob")
    .description("Queue, group and run AppWright mobile tests across a device fleet.")
    .version(VERSION)
    .exitOverride()
    // A command's options are its own once a subcommand follows: `tests --org-id a` lists,
    // `tests quarantine x --org-id a` quarantines (commander needs it on every level above).
    .enablePositionalOptions()
    .showHelpAfterError("(run with --help for usage)");
  program.addCommand(submitCommand());
  program.addCommand(statusCommand());
  program.addCommand(waitCommand());
  program.addCommand(cancelCommand());
  program.addCommand(rerunCommand());
  program.addCommand(runsCommand());
  program.addCommand(jobsCommand());
  program.addCommand(agentsCommand());
  program.addCommand(queueCommand());
  program.addCommand(testsCommand());
  program.addCommand(artifactsCommand());
  program.addCommand(logsCommand());
  program.addCommand(agentCommand());
  program.addCommand(serverCommand());
  program.addCommand(tokenCommand());
  return program;
}

/** Runs the CLI and answers the exit code; long-running commands resolve when they stop. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.commands.forEach(function override(c: Command) {
    c.exitOverride();
    c.commands.forEach(override);
  });
  // `help <typo>` would print the root help as if all were well: treat it as the unknown command
  // it is, so that commander says so with its "Did you mean" hint.
  const [first, second] = argv;
  if (first === "help" && second && !program.commands.some((c) => c.name() === second)) {
    argv = [second];
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.passed;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successful exits; commander has already printed its message.
      return err.exitCode === 0 ? EXIT.passed : EXIT.usage;
    }
    if (err instanceof ExitStatus) return err.exitCode; // the command has printed its outcome
    if (err instanceof ApiError) {
      // Network, timeout, 5xx and invalid answers are 3; the server refusing the request is 2.
      const cli = describeApiError(err);
      process.stderr.write(`qgjob: ${cli.message}\n`);
      return cli.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`qgjob: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`qgjob: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`qgjob: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.server;
  }
}
