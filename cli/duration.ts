/**
 * Durations on the command line: `90` (seconds), `90s`, `30m`, `2h`, `1h30m`, `1.5m`, `500ms`,
 * read by report/duration.ts (the Action reads its inputs with it too).
 */
import { parseDuration } from "../report/duration.js";
import { CliError, EXIT } from "./exit-codes.js";

export { parseDuration };

/** `--timeout <duration>`: milliseconds, undefined when not given; a usage error when invalid. */
export function parseTimeoutOption(
  text: string | undefined,
  flag = "--timeout",
): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    throw new CliError(
      `${flag}: expected a duration such as 30m, 90s, 1h30m or a number of seconds, got '${text}'`,
      EXIT.usage,
    );
  }
  return ms;
}
