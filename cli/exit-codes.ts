/** The CLI's exit codes: its contract with scripts, so a code never changes meaning. */
export const EXIT = {
  passed: 0,
  testsFailed: 1,
  usage: 2,
  server: 3,
  timedOut: 4,
} as const;

/** A failure the CLI reports as one line and an exit code, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
