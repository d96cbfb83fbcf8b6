/** The `qgjob` command tree. Commands live in ./commands, one module each. */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../app/config.js";
import { VERSION } from "../app/version.js";
import { serverCommand } from "./commands/server.js";
import { tokenCommand } from "./commands/token.js";
import { CliError, EXIT } from "./exit-codes.js";

export function buildProgram(): Command {
  const program = new Command("qgjob")
    .description("Queue, group and run AppWright mobile tests across a device fleet.")
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
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
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.passed;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successful exits; commander has already printed its message.
      return err.exitCode === 0 ? EXIT.passed : EXIT.usage;
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
