/**
 * Long-running commands log with pino. With --json the lines are pino's JSON; otherwise each
 * is turned into `12:00:01 INFO lease granted lease=lse_… jobs=3` for a person to read.
 */
import { pino, type Logger } from "pino";

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

export function commandLogger(json: boolean, level = "info"): Logger {
  if (json) return pino({ level }, pino.destination(1));
  return pino({ level }, { write: (line: string) => void process.stderr.write(humanLine(line)) });
}
