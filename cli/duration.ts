/**
 * Durations on the command line: `90` (seconds), `90s`, `30m`, `2h`, `1h30m`, `1.5m`, `500ms`.
 * A bare number is seconds, the unit scripts and the API use.
 */
import { CliError, EXIT } from "./exit-codes.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Milliseconds, or null when `text` is not a duration. Zero is allowed; callers decide. */
export function parseDuration(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!WHOLE.test(s)) return null;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(PART)) ms += Number(n) * UNIT_MS[unit!]!;
  return Math.round(ms);
}

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
