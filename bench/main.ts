/**
 * `npm run bench`: scheduling quality, API throughput, queue speed and scale, each against a
 * baseline measured in the same run. Prints each section's table, then one summary table of
 * the targets, and writes everything to bench/results.json. bench/README.md explains it.
 *
 *   npm run bench -- [--grouping app_version] [--sections scheduling,http,queue,scale,dispatch]
 *                    [--seconds 3] [--reps 3] [--scale 10000,100000,1000000]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dispatchSpeed } from "./dispatch.js";
import { apiThroughput } from "./http.js";
import { stopAll } from "./load.js";
import { queueSpeed } from "./queue.js";
import { scale } from "./scale.js";
import { schedulingQuality } from "./sim/scheduling.js";
import { w1, w2 } from "./sim/workloads.js";
import { printScheduling, summary, table, type BenchResults } from "./table.js";

const { values } = parseArgs({
  options: {
    grouping: { type: "string", default: "app_version" },
    sections: { type: "string", default: "scheduling,http,queue,scale,dispatch" },
    seconds: { type: "string", default: "3" },
    reps: { type: "string", default: "3" },
    scale: { type: "string", default: "10000,100000,1000000" },
    "queue-jobs": { type: "string", default: "2000" },
  },
});
const sections = new Set(values.sections.split(","));
const seconds = Number(values.seconds);
const reps = Number(values.reps);
const results: BenchResults & Record<string, unknown> = {
  when: new Date().toISOString(),
  node: process.version,
  seconds,
  reps,
  grouping: values.grouping,
};

try {
  if (sections.has("scheduling")) {
    const reports = [
      await schedulingQuality(w1(), values.grouping),
      await schedulingQuality(w2(), values.grouping),
    ];
    printScheduling(reports);
    results.scheduling = reports;
  }
  if (sections.has("http")) {
    const rows = await apiThroughput(seconds, reps);
    console.log("\n### API throughput over HTTP (medians of %d x %d s)\n", reps, seconds);
    console.log(
      table(
        ["workload", "per second", "requests/s vs bare", "p50 ms", "p99 ms"],
        rows.map((r) => [
          r.workload,
          Number.isNaN(r.perSecond) ? "" : `${r.perSecond} ${r.unit}`,
          r.vsBare === null ? "" : `${r.vsBare}x`,
          r.p50Ms,
          r.p99Ms,
        ]),
      ),
    );
    results.http = rows;
  }
  if (sections.has("queue")) {
    const rows = await queueSpeed(Number(values["queue-jobs"]), reps);
    console.log("\n### Queue speed in process (jobs/s, medians of %d)\n", reps);
    console.log(
      table(
        ["workload", "qgjob", "plainjob", "ratio"],
        rows.map((r) => [r.workload, r.qgjobPerSecond, r.plainjobPerSecond, `${r.ratio}x`]),
      ),
    );
    results.queue = rows;
  }
  if (sections.has("scale")) {
    const rows = await scale(values.scale.split(",").map(Number), 200);
    console.log("\n### Scale: lease latency with a deep queue (1,000 groups)\n");
    console.log(
      table(
        ["queued jobs", "seeding s", "lease p50 ms", "lease p99 ms", "server RSS MB"],
        rows.map((r) => [
          r.queued,
          r.seedSeconds,
          r.leaseP50Ms,
          r.leaseP99Ms,
          r.serverRssMb ?? "n/a",
        ]),
      ),
    );
    results.scale = rows;
  }
  if (sections.has("dispatch")) {
    const rows = await dispatchSpeed([1, 8, 32], 2000, seconds);
    console.log("\n### Dispatch in process: claim+start+complete, one-job leases (jobs/s)\n");
    console.log(
      table(
        ["workers", "SQLite", "Postgres"],
        [1, 8, 32].map((w) => [
          w,
          rows.find((r) => r.engine === "sqlite" && r.workers === w)?.jobsPerSecond ?? "",
          rows.find((r) => r.engine === "postgres" && r.workers === w)?.jobsPerSecond ?? "",
        ]),
      ),
    );
    results.dispatch = rows;
  }
  const targets = summary(results);
  console.log("\n### Targets\n");
  console.log(
    table(
      ["section", "target", "measured", "verdict"],
      targets.map((t) => [t.section, t.target, t.measured, verdict(t.met)]),
    ),
  );
  results.targets = targets;
  writeFileSync(join(import.meta.dirname, "results.json"), JSON.stringify(results, null, 2));
} finally {
  await stopAll();
}

function verdict(met: boolean | null): string {
  if (met === null) return "(no target)";
  return met ? "met" : "MISSED";
}
