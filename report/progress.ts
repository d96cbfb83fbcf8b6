/**
 * Live progress while waiting, as text for stderr. State in, text out: the caller feeds it what
 * the server answered and writes what it returns.
 *
 * - On a terminal: one status line redrawn in place (`\r` + clear line), with a line printed above
 *   it for each job that ends; `tick` redraws it so the clock moves between answers.
 * - Elsewhere (CI logs): a job line when a job ends, and the status line only when the counts
 *   change, each on its own line.
 */
import { isFinished } from "../api/status.js";
import { jobLine } from "./job-line.js";
import { statusLine, tally, type JobView, type Tally } from "./tally.js";

const CLEAR = "\r\x1b[2K";

export class ProgressRenderer {
  private readonly reported = new Set<string>();
  private lastCounts: string | null = null;
  private last: Tally | null = null;
  private drawn = false;

  constructor(private readonly opts: { tty: boolean }) {}

  /** Text to write after an answer from the server. */
  update(jobs: readonly JobView[], elapsedMs: number): string {
    let out = "";
    const ended: string[] = [];
    for (const job of jobs) {
      if (isFinished(job) && !this.reported.has(job.id)) {
        this.reported.add(job.id);
        ended.push(jobLine(job));
      }
    }
    const t = tally(jobs);
    const counts = JSON.stringify(t);
    const changed = counts !== this.lastCounts;
    this.last = t;
    this.lastCounts = counts;
    if (this.opts.tty) {
      if (this.drawn) out += CLEAR;
      for (const line of ended) out += line + "\n";
      out += statusLine(t, elapsedMs);
      this.drawn = true;
    } else {
      for (const line of ended) out += line + "\n";
      if (changed) out += statusLine(t, elapsedMs) + "\n";
    }
    return out;
  }

  /** Redraws the status line with a new clock (terminal only; nothing elsewhere). */
  tick(elapsedMs: number): string {
    if (!this.opts.tty || !this.last) return "";
    this.drawn = true;
    return CLEAR + statusLine(this.last, elapsedMs);
  }

  /** Text that leaves the cursor at the start of a clean line, ready for the summary. */
  finish(): string {
    if (!this.opts.tty || !this.drawn) return "";
    this.drawn = false;
    return CLEAR;
  }
}
