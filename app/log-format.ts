/**
 * pino lines for a person: `12:00:01 INFO lease granted lease=lse_… jobs=3`. Servers and
 * long-running commands use it on a terminal; pipes and files get pino's JSON.
 */
const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const SKIP = new Set(["level", "time", "pid", "hostname", "msg"]);

export function humanLine(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(entry.time as number).toISOString().slice(11, 19);
  const fields = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return (
    [time, LEVELS[entry.level as number] ?? entry.level, entry.msg, ...fields].join(" ") + "\n"
  );
}

export type LogFormat = "json" | "pretty";

/** `QGJOB_LOG_FORMAT` when set, else pretty on a terminal and JSON anywhere else. */
export function logFormat(setting: LogFormat | undefined, isTTY: boolean): LogFormat {
  return setting ?? (isTTY ? "pretty" : "json");
}
