/** Markdown tables for the benchmark's console output. */
import type { HttpRow } from "./http.js";
import type { QueueRow } from "./queue.js";
import type { ScaleRow } from "./scale.js";
import type { Quality } from "./sim/metrics.js";
import { TARGETS, type SchedulingReport } from "./sim/scheduling.js";

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
  }
}

export interface BenchResults {
  scheduling?: SchedulingReport[];
  http?: HttpRow[];
  queue?: QueueRow[];
  scale?: ScaleRow[];
}

export interface TargetRow {
  section: string;
  target: string;
  measured: string;
  /** null: reported for information, the issue sets no target. */
  met: boolean | null;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function schedulingTargets(r: SchedulingReport): TargetRow[] {
  const q = r.qgjob;
  const section = `scheduling ${r.workload}`;
  const worst = Object.entries(q.orgSlowdown).sort((a, b) => b[1] - a[1])[0]!;
  const fairness: TargetRow = {
    section,
    target: `every org's slowdown <= ${TARGETS.slowdown}x its fair share`,
    measured: `worst ${worst[0]} ${worst[1].toFixed(2)}x`,
    met: r.targets.fairShare,
  };
  // W2 exists to show fairness; its arrivals, not the scheduler, bound its utilisation.
  if (r.workload !== "W1") return [fairness];
  return [
    {
      section,
      target: `installs <= ${TARGETS.installsOverBound}x lower bound`,
      measured: `${q.installs} vs ${r.lowerBounds.installs} (${ratio(q.installs, r.lowerBounds.installs)}; ${q.retryInstalls} to retry infra errors)`,
      met: r.targets.installs,
    },
    {
      section,
      target: `p95 run latency <= ${TARGETS.p95OverFifo}x FIFO (install every job)`,
      measured: `${s(q.p95LatencyMs)} vs ${s(r.fifoReinstall.p95LatencyMs)} (${ratio(q.p95LatencyMs, r.fifoReinstall.p95LatencyMs)})`,
      met: r.targets.p95VsFifo,
    },
    {
      section,
      target: `utilisation >= ${pct(TARGETS.utilisation)}`,
      measured: pct(q.utilisation),
      met: r.targets.utilisation,
    },
    fairness,
  ];
}

/** The targets against what this run measured. */
export function summary(results: BenchResults): TargetRow[] {
  const rows: TargetRow[] = (results.scheduling ?? []).flatMap(schedulingTargets);
  const submit1 = results.http?.find((r) => r.workload.startsWith("submit 1 "));
  if (submit1?.vsBare != null) {
    rows.push({
      section: "API over HTTP",
      target: "submit 1 test >= 0.40x bare node:http requests/s",
      measured: `${submit1.perSecond} ${submit1.unit} (${submit1.vsBare}x)`,
      met: submit1.vsBare >= 0.4,
    });
  }
  for (const q of results.queue ?? []) {
    rows.push({
      section: "queue in process",
      target: `${q.workload} >= 1.0x plainjob`,
      measured: `${q.qgjobPerSecond} vs ${q.plainjobPerSecond} jobs/s (${q.ratio}x)`,
      met: q.ratio >= 1,
    });
  }
  const scale = results.scale ?? [];
  if (scale.length > 1) {
    const [least, most] = [scale[0]!, scale[scale.length - 1]!];
    rows.push({
      section: "scale",
      target: `lease p99 flat: at ${most.queued} queued <= 2x at ${least.queued}`,
      measured: scale.map((r) => `${r.queued}: ${r.leaseP99Ms} ms`).join(", "),
      met: most.leaseP99Ms <= 2 * least.leaseP99Ms,
    });
    rows.push({
      section: "scale",
      target: `server RSS at ${most.queued} queued`,
      measured: most.serverRssMb === null ? "n/a" : `${most.serverRssMb} MB`,
      met: null,
    });
  }
  return rows;
}
