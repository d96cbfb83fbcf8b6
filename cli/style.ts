/**
 * How human output looks on the stream it goes to: colours and relative times on a terminal,
 * plain text and exact UTC times elsewhere (logs, pipes, files). `NO_COLOR` turns colour off and
 * `FORCE_COLOR` turns it on (or off with `0`), as most command-line tools do.
 */
import { isFailedStatus } from "../api/status.js";

export interface Style {
  color: boolean;
  /** "3m ago" instead of a timestamp: for a person reading a terminal now. */
  relativeTime: boolean;
}

export const PLAIN: Style = { color: false, relativeTime: false };

export function styleFor(
  stream: { isTTY?: boolean; hasColors?: () => boolean },
  env: NodeJS.ProcessEnv = process.env,
): Style {
  const tty = stream.isTTY === true;
  const force = env.FORCE_COLOR;
  let color: boolean;
  if (force !== undefined && force !== "") color = force !== "0" && force !== "false";
  else if (env.NO_COLOR) color = false;
  else color = tty && (stream.hasColors?.() ?? true);
  return { color, relativeTime: tty };
}

const sgr = (code: string) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;
export const green = sgr("32");
export const red = sgr("31");
export const yellow = sgr("33");
export const dim = sgr("2");
export const bold = sgr("1");

/** The colour of a status word: red for a failure, green passed, yellow in progress. */
export function statusColor(status: string): ((text: string) => string) | undefined {
  if (isFailedStatus(status) || status === "drained") return red;
  if (status === "passed" || status === "idle") return green;
  if (status === "running" || status === "leased" || status === "busy") return yellow;
  if (status === "queued" || status === "cancelled" || status === "lost") return dim;
  return undefined;
}

export function paint(style: Style, color: ((text: string) => string) | undefined, text: string) {
  return style.color && color ? color(text) : text;
}

/** A moment for people: "12s ago" on a terminal, else UTC to the second ("2026-12-07 03:18:36Z"). */
export function when(style: Style, iso: string | null, now = Date.now()): string {
  if (iso === null) return "";
  const at = Date.parse(iso);
  if (!style.relativeTime)
    return new Date(at)
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z");
  const s = Math.round((now - at) / 1000);
  const ago = (n: number, unit: string) => `${n}${unit} ago`;
  if (s < 0) return "just now";
  if (s < 60) return ago(s, "s");
  if (s < 3600) return ago(Math.floor(s / 60), "m");
  if (s < 86_400) return ago(Math.floor(s / 3600), "h");
  return ago(Math.floor(s / 86_400), "d");
}
