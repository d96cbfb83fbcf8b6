/**
 * `npm run bench`: scheduling quality, API throughput, queue speed and scale, each against a
 * baseline measured in the same run. Prints each section's table, then one summary table of
 * the targets, and writes everything to bench/results.json. bench/README.md explains it.
 *
 *   npm run bench -- [--grouping app_version]
 *                    [--sections scheduling,http,queue,scale,dispatch,flatness,waiting,live]
 *                    [--seconds 3] [--reps 3] [--scale 10000,100000,1000000] [--quick]
 *                    [--depths 100,10000,100000] [--fleets 10,1000] [--cancels 50] [--watch-seconds 9]
 *
 * `--quick` shrinks every timed window and count to a smoke run (seconds, not minutes).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dispatchSection, flatnessSection } from "./dispatch.js";
import { apiThroughput } from "./http.js";
import { liveSection } from "./live.js";
import { stopAll } from "./load.js";
import { queueSpeed } from "./queue.js";
import { scale } from "./scale.js";
import { schedulingQuality } from "./sim/scheduling.js";
import { w1, w2 } from "./sim/workloads.js";
import { waitingSection } from "./waiting.js";
import {
  printDispatch,
  printFlatness,
  printLive,
  printScheduling,
  summary,
  table,
  type BenchResults,
} from "./table.js";

const { values } = parseArgs({
  options: {
    grouping: { type: "string", default: "app_version" },
    sections: {
      type: "string",
      default: "scheduling,http,queue,scale,dispatch,flatness,waiting,live",
    },
    seconds: { type: "string", default: "3" },
    reps: { type: "string", default: "3" },
    scale: { type: "string", default: "10000,100000,1000000" },
    "queue-jobs": { type: "string", default: "2000" },
    depths: { type: "string", default: "100,10000,100000" },
    fleets: { type: "string", default: "10,1000" },
    cancels: { type: "string", default: "50" },
    "watch-seconds": { type: "string", default: "9" },
    quick: { type: "boolean", default: false },
  },
});
const quick = values.quick;
const sections = new Set(values.sections.split(","));
const seconds = quick ? 0.3 : Number(values.seconds);
const reps = quick ? 1 : Number(values.reps);
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
    const rows = await queueSpeed(quick ? 100 : Number(values["queue-jobs"]), reps);
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
    const rows = await scale(
      quick ? [2_000] : values.scale.split(",").map(Number),
      quick ? 5 : 200,
    );
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
    const workers = quick ? [2] : [1, 8, 32];
    const dispatch = await dispatchSection({
      workers,
      depth: quick ? 20 : 1000,
      seconds,
      wakeups: quick ? 3 : 50,
    });
    printDispatch(dispatch, workers);
    results.dispatch = dispatch;
  }
  if (sections.has("flatness")) {
    const flatness = await flatnessSection({
      depths: quick ? [20, 200] : values.depths.split(",").map(Number),
      fleets: quick ? [2, 20] : values.fleets.split(",").map(Number),
      fleetDepth: quick ? 20 : 1000,
      workers: quick ? 2 : 8,
      seconds,
    });
    printFlatness(flatness);
    results.flatness = flatness;
  }
  if (sections.has("waiting")) {
    const rows = await waitingSection({ waiting: quick ? 20 : 200, samples: quick ? 5 : 50 });
    console.log("\n### Submit a 1-job run with agents long-polling an empty queue (HTTP)\n");
    console.log(
      table(
        ["engine", "waiting polls", "submit p50 ms", "submit p99 ms", "p50 vs none waiting"],
        rows.map((r) => [r.engine, r.waiting, r.p50Ms, r.p99Ms, `${r.ratio}x`]),
      ),
    );
    results.waiting = rows;
  }
  if (sections.has("live")) {
    const live = await liveSection({
      cancels: quick ? 3 : Number(values.cancels),
      watchS: quick ? 3 : Number(values["watch-seconds"]),
    });
    printLive(live);
    results.live = live;
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
