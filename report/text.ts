/** Small text helpers shared by the reports: test output is full of colour codes. */
import type { Job } from "../api/schemas.js";

// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export const stripAnsi = (text: string) => text.replace(ANSI, "");

/** At most `maxLines` lines and `maxChars` characters, marking a cut with `…`. */
export function clip(text: string, maxChars: number, maxLines = Infinity): string {
  let lines = text.split(/\r?\n/);
  let cut = false;
  if (lines.length > maxLines) {
    lines = lines.slice(0, maxLines);
    cut = true;
  }
  let out = lines.join("\n");
  if (out.length > maxChars) {
    out = out.slice(0, maxChars - 1);
    cut = true;
  }
  return cut ? `${out}…` : out;
}

/** `failed`, `error`, `timed out`, … */
export const statusLabel = (status: Job["status"]) => status.replace("_", " ");

/** The day a quarantine ends, as the reports print it (UTC). */
export const quarantineEnd = (until: string) => until.slice(0, 10);

/** `quarantined: failed (until 2026-12-21)`: a failure that fails no run, and for how long. */
export const quarantinedLabel = (job: Pick<Job, "status" | "quarantined_until">) =>
  `quarantined: ${statusLabel(job.status)} (until ${quarantineEnd(job.quarantined_until ?? "")})`;

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
