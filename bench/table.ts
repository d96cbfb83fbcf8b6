/** Markdown tables for the benchmark's console output. */
import type { DispatchResults, FlatnessResults, FlatnessRow } from "./dispatch.js";
import type { HttpRow } from "./http.js";
import type { LiveReport } from "./live.js";
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
  dispatch?: DispatchResults;
  flatness?: FlatnessResults;
  live?: LiveReport;
}

const REFERENCE = "graphile-worker";

/** One row per worker count, a column per contender, and qgjob on Postgres against graphile. */
export function printDispatch(d: DispatchResults, workers: number[]) {
  const names = [...new Set(d.rows.map((r) => r.name))];
  const at = (name: string, w: number) =>
    d.rows.find((r) => r.name === name && r.workers === w)?.jobsPerSecond;
  const vs = (name: string, w: number) => {
    const [a, b] = [at(name, w), at(REFERENCE, w)];
    return a === undefined || !b ? "" : ratio(a, b);
  };
  console.log(`\n### Dispatch: claim+start+complete, one-job leases, ${d.depth} deep (jobs/s)\n`);
  console.log(
    table(
      ["workers", ...names, "Postgres in process / HTTP vs graphile-worker"],
      workers.map((w) => [
        w,
        ...names.map((n) => at(n, w) ?? ""),
        `${vs("qgjob postgres in process", w)} / ${vs("qgjob postgres over HTTP", w)}`,
      ]),
    ),
  );
  console.log("\n### Wake-up: enqueue to an idle worker starting the job (ms)\n");
  console.log(
    table(
      ["queue", "p50", "p99"],
      d.wakeups.map((r) => [r.name, r.p50Ms, r.p99Ms]),
    ),
  );
}

function dispatchTargets(d: DispatchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const byName = (name: string, w: number) =>
    d.rows.find((r) => r.name === name && r.workers === w)?.jobsPerSecond;
  for (const w of new Set(d.rows.map((r) => r.workers))) {
    const [pg, ref] = [byName("qgjob postgres in process", w), byName(REFERENCE, w)];
    if (pg !== undefined && ref) {
      rows.push({
        section: "dispatch",
        target: `Postgres, ${w} workers, one-job leases >= 0.5x ${REFERENCE}`,
        measured: `${pg} vs ${ref} jobs/s (${ratio(pg, ref)})`,
        met: pg >= 0.5 * ref,
      });
    }
    const sqlite = byName("qgjob sqlite in process", w);
    if (sqlite !== undefined) {
      rows.push({
        section: "dispatch",
        target: `SQLite, ${w} workers, in process >= 2,500 cycles/s`,
        measured: `${sqlite} cycles/s`,
        met: sqlite >= 2500,
      });
    }
  }
  const ref = d.wakeups.find((r) => r.name === REFERENCE);
  for (const q of d.wakeups.filter((r) => r.name.startsWith("qgjob"))) {
    if (!ref) break;
    rows.push({
      section: "dispatch",
      target: `wake-up p99, ${q.name} <= ${REFERENCE}'s`,
      measured: `${q.p99Ms} vs ${ref.p99Ms} ms`,
      met: q.p99Ms <= ref.p99Ms,
    });
  }
  return rows;
}

export function printFlatness(f: FlatnessResults) {
  const rows = (sweep: FlatnessRow[]) =>
    sweep.map((r) => [r.engine, r.groups, r.agents, r.seedSeconds, r.jobsPerSecond, `${r.ratio}x`]);
  const header = ["engine", "groups queued", "agents", "seeding s", "jobs/s", "vs first"];
  console.log(`\n### Flatness: dispatch in process by queue depth, ${f.workers} workers\n`);
  console.log(table(header, rows(f.depths)));
  console.log(`\n### Flatness: dispatch in process by fleet size, ${f.workers} of them working\n`);
  console.log(table(header, rows(f.fleets)));
}

/** Issue 18: jobs/s within 25% of the smallest point's, per engine, across each sweep. */
const FLAT_WITHIN = 0.25;

function flatnessTargets(f: FlatnessResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const sweeps = [
    { sweep: f.depths, unit: "groups", of: (r: FlatnessRow) => r.groups },
    { sweep: f.fleets, unit: "agents", of: (r: FlatnessRow) => r.agents },
  ];
  for (const { sweep, unit, of } of sweeps) {
    for (const engine of ["sqlite", "postgres"]) {
      const points = sweep.filter((r) => r.engine === engine);
      if (points.length < 2) continue;
      const [first, last] = [points[0]!, points[points.length - 1]!];
      rows.push({
        section: "flatness",
        target: `${engine}, ${f.workers} workers, from ${of(first)} to ${of(last)} ${unit}: jobs/s within ${FLAT_WITHIN * 100}% of ${of(first)}'s`,
        measured: points.map((r) => `${of(r)}: ${r.jobsPerSecond} (${r.ratio}x)`).join(", "),
        met: points.every(
          (r) => Math.abs(r.jobsPerSecond / first.jobsPerSecond - 1) <= FLAT_WITHIN,
        ),
      });
    }
  }
  return rows;
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
  if (results.dispatch) rows.push(...dispatchTargets(results.dispatch));
  if (results.flatness) rows.push(...flatnessTargets(results.flatness));
  if (results.live) rows.push(...liveTargets(results.live));
  return rows;
}

/**
 * Before the push channel a cancel waited for the agent's next heartbeat (TTL/3 = 40 s); issue
 * 17 measured three by hand. It is not re-run: no agent option turns the channel off.
 */
const HEARTBEAT_CANCELS_S = [31, 35, 40];

export function printLive(live: LiveReport) {
  const c = live.cancel;
  console.log(`\n### Live: cancel request to the test's processes gone (${c.cancels} cancels)\n`);
  console.log(
    table(
      ["path", "p50", "p99", "max"],
      [
        ["push channel (measured now)", `${c.p50Ms} ms`, `${c.p99Ms} ms`, `${c.maxMs} ms`],
        [
          "heartbeat only (issue 17, 3 cancels by hand)",
          `${HEARTBEAT_CANCELS_S[1]} s`,
          `${HEARTBEAT_CANCELS_S[2]} s`,
          `${HEARTBEAT_CANCELS_S[2]} s`,
        ],
      ],
    ),
  );
  console.log("\n### Live: HTTP requests a watcher (`qgjob wait`) costs, counted at the server\n");
  console.log(
    table(
      ["follows the run by", "watched s", "requests", "per 10 minutes (scaled)"],
      live.watch.map((w) => [w.via, w.watchedS, w.requests, w.per10Min]),
    ),
  );
}

function liveTargets(live: LiveReport): TargetRow[] {
  const [stream, polling] = live.watch;
  return [
    {
      section: "live",
      target: "cancel reaches the test within 1 s (p99 <= 1000 ms)",
      measured: `p50 ${live.cancel.p50Ms} ms, p99 ${live.cancel.p99Ms} ms (heartbeat only: ${HEARTBEAT_CANCELS_S.join(", ")} s)`,
      met: live.cancel.p99Ms <= 1000,
    },
    {
      section: "live",
      target: "a 10-minute watched run: requests, event stream vs polling",
      measured: `${stream?.per10Min} vs ${polling?.per10Min}`,
      met: null,
    },
  ];
}
