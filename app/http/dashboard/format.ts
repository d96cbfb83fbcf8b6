/** Small formatting pieces the pages share: status labels, times, durations, counts. */
import type { RunCounts } from "../../../api/schemas.js";
import { html, type Html } from "./html.js";

/** A symbol and a word, so status never depends on colour alone. */
const STATUS_MARK: Record<string, string> = {
  queued: "○",
  leased: "◔",
  running: "◑",
  passed: "✓",
  failed: "✗",
  error: "!",
  cancelled: "⊘",
  timed_out: "⧖",
  idle: "○",
  busy: "◑",
  lost: "!",
  drained: "⊘",
};

export function statusLabel(status: string): Html {
  return html`<span class="status s-${status}"
    ><span aria-hidden="true">${STATUS_MARK[status] ?? "·"}</span> ${status.replace("_", " ")}</span
  >`;
}

/** 850ms, 4.2s, 3m 05s, 2h 03m. */
export function duration(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor(whole / 60) % 60).padStart(2, "0")}m`;
}

/** A timestamp as UTC text, machine-readable in the datetime attribute. */
export function time(iso: string | null): Html {
  if (iso === null) return html`–`;
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")}Z</time>`;
}

const COUNT_ORDER = [
  "queued",
  "leased",
  "running",
  "passed",
  "failed",
  "error",
  "timed_out",
  "cancelled",
  "flaky",
  "quarantined",
] as const;

/** Only the non-zero counts: "3 passed · 1 failed · 1 flaky". */
export function countsText(counts: RunCounts): string {
  const parts = COUNT_ORDER.filter((k) => counts[k] > 0).map(
    (k) => `${counts[k]} ${k.replace("_", " ")}`,
  );
  return parts.length > 0 ? parts.join(" · ") : "no jobs";
}

/**
 * A test path that wraps only after a `/`: each segment is a box of its own (the line breaks
 * between boxes, not at a hyphen inside one, unless the segment alone is wider than the line).
 */
export function pathCode(path: string): Html {
  return html`<code class="path"
    >${path.split(/(?<=\/)/).map((p) => html`<span>${p}</span>`)}</code
  >`;
}

/** "1 try", "2 tries (1 retry)": the tries a job took, whatever the limit was. */
export function triesText(attempts: number): string {
  if (attempts === 0) return "not tried";
  const tries = `${attempts} ${attempts === 1 ? "try" : "tries"}`;
  const retries = attempts - 1;
  return retries === 0 ? tries : `${tries} (${retries} ${retries === 1 ? "retry" : "retries"})`;
}
