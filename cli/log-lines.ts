/**
 * Long-running commands log with pino. With --json the lines are pino's JSON; otherwise each
 * is turned into `12:00:01 INFO lease granted lease=lse_… jobs=3` for a person to read.
 */
import { pino, type Logger } from "pino";
import { humanLine } from "../app/log-format.js";

export function commandLogger(json: boolean, level = "info"): Logger {
  if (json) return pino({ level }, pino.destination(1));
  return pino({ level }, { write: (line: string) => void process.stderr.write(humanLine(line)) });
}
