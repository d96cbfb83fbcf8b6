/** Durations for people: `4.2s`, `1m05s`, and the clock of progress lines, `00:12`. */

/** Short human form: `850ms`, `4.2s`, `1m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${pad(totalS % 60)}s`;
  const totalM = Math.floor(totalS / 60);
  return `${Math.floor(totalM / 60)}h${pad(totalM % 60)}m`;
}

/** A clock for progress lines: `00:12`, `59:59`, `1:02:03`. */
export function formatClock(ms: number): string {
  const totalS = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

const pad = (n: number) => String(n).padStart(2, "0");
