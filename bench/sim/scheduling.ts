/**
 * Section 1: scheduling quality. Runs a workload through qgjob's store and scheduler and
 * through the FIFO baselines, and checks the targets of the issue against them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fifo, qgjob } from "./dispatchers.js";
import { simulate } from "./engine.js";
import { lowerBounds, quality, type LowerBounds, type Quality } from "./metrics.js";
import type { Workload } from "./workloads.js";

export interface SchedulingReport {
  workload: string;
  grouping: string;
  jobs: number;
  qgjob: Quality;
  fifoReinstall: Quality;
  fifoSkipInstall: Quality;
  lowerBounds: LowerBounds;
  targets: {
    installs: boolean;
    p95VsFifo: boolean;
    utilisation: boolean;
    fairShare: boolean;
  };
}

export const TARGETS = {
  installsOverBound: 1.25,
  p95OverFifo: 0.5,
  utilisation: 0.85,
  slowdown: 1.5,
};

export async function schedulingQuality(
  workload: Workload,
  grouping: string,
): Promise<SchedulingReport> {
  const dir = mkdtempSync(join(tmpdir(), "qgjob-sim-"));
  try {
    const q = quality(workload, await simulate(workload, qgjob(workload, grouping, dir)));
    const reinstall = quality(workload, await simulate(workload, fifo(true)));
    const skip = quality(workload, await simulate(workload, fifo(false)));
    const bounds = lowerBounds(workload);
    return {
      workload: workload.name,
      grouping,
      jobs: workload.pushes.reduce((n, p) => n + p.jobs.length, 0),
      qgjob: q,
      fifoReinstall: reinstall,
      fifoSkipInstall: skip,
      lowerBounds: bounds,
      targets: {
        installs: q.installs <= TARGETS.installsOverBound * bounds.installs,
        p95VsFifo: q.p95LatencyMs <= TARGETS.p95OverFifo * reinstall.p95LatencyMs,
        utilisation: q.utilisation >= TARGETS.utilisation,
        fairShare: Object.values(q.orgSlowdown).every((s) => s <= TARGETS.slowdown),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
