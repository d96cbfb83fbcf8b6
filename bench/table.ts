/** Markdown tables for the benchmark's console output. */
import type { SchedulingReport } from "./sim/scheduling.js";
import type { Quality } from "./sim/metrics.js";

const s = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const slowdowns = (q: Quality) =>
  Object.entries(q.orgSlowdown)
    .map(([org, x]) => `${org} ${x.toFixed(2)}`)
    .join(", ");

export function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export function printScheduling(reports: SchedulingReport[]) {
  for (const r of reports) {
    const row = (name: string, q: Quality) => [
      name,
      `${q.installs} (${q.retryInstalls})`,
      s(q.makespanMs),
      s(q.p50LatencyMs),
      s(q.p95LatencyMs),
      pct(q.utilisation),
      slowdowns(q),
    ];
    console.log(`\n### Scheduling ${r.workload} (${r.jobs} jobs, grouping ${r.grouping})\n`);
    console.log(
      table(
        [
          "schedule",
          "installs (for retries)",
          "makespan",
          "p50 run latency",
          "p95 run latency",
          "utilisation",
          "slowdown vs fair share",
        ],
        [
          row("qgjob", r.qgjob),
          row("FIFO, install every job", r.fifoReinstall),
          row("FIFO, skip install if present", r.fifoSkipInstall),
          ["lower bound", r.lowerBounds.installs, s(r.lowerBounds.makespanMs), "", "", "", ""],
        ],
      ),
    );
    const t = r.targets;
    const mark = (ok: boolean) => (ok ? "met" : "MISSED");
    console.log(
      `targets: installs <= 1.25x bound ${mark(t.installs)}; p95 <= 0.5x FIFO ${mark(t.p95VsFifo)}; utilisation >= 85% ${mark(t.utilisation)}; slowdown <= 1.5x ${mark(t.fairShare)}`,
    );
  }
}
